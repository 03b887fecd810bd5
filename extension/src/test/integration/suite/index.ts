// Integration tests that run INSIDE the VS Code extension host (code-server), loaded through extensionTestsPath.
// The outer runner (../run.ts) prepares the workspace, a real `sr apiserver` on etcd and its kubeconfig, and
// passes their locations in the environment. A failed test makes run() reject (non-zero exit).
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { ApiClient, KubeObject } from '../../../cluster/api-client';
import { loadKubeconfig } from '../../../cluster/kubeconfig';
import { METRICS_URL_ANNOTATION } from '../../../cluster/metrics';
import type { ExtensionApi } from '../../../client/extension';
import type { ApplyOutcome } from '../../../client/commands';

const EXTENSION_ID = 'streaming-runtime.streaming-runtime';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests through hack/test-extension.sh`);
  return value;
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function waitUntil<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Asks the outer runner (playwright) for a screenshot of the whole window and waits until it is taken. */
async function screenshot(name: string): Promise<void> {
  const dir = env('SR_EXT_SIGNAL_DIR');
  writeFileSync(join(dir, `${name}.request`), '');
  await waitUntil(`screenshot ${name}`, () => existsSync(join(dir, `${name}.done`)), 60_000);
}

interface TestCase {
  name: string;
  run: () => Promise<void>;
}

export async function run(): Promise<void> {
  const workspace = env('SR_EXT_WORKSPACE');
  const kubeconfig = env('SR_TEST_KUBECONFIG');
  const fileUri = (name: string): vscode.Uri => vscode.Uri.file(join(workspace, name));
  const extension = vscode.extensions.getExtension<ExtensionApi>(EXTENSION_ID);
  assert(extension, `extension ${EXTENSION_ID} is not installed`);
  const api = await extension.activate();
  const cluster = new ApiClient(loadKubeconfig(kubeconfig));

  const open = async (name: string): Promise<vscode.TextEditor> => {
    const document = await vscode.workspace.openTextDocument(fileUri(name));
    return vscode.window.showTextDocument(document, { preview: false, viewColumn: vscode.ViewColumn.One });
  };
  const positionOf = (document: vscode.TextDocument, needle: string, delta = 0): vscode.Position => {
    const index = document.getText().indexOf(needle);
    assert(index >= 0, `${needle} not found in ${document.uri.fsPath}`);
    return document.positionAt(index + delta);
  };
  const diagnosticsOf = (uri: vscode.Uri): vscode.Diagnostic[] => vscode.languages.getDiagnostics(uri);

  const tests: TestCase[] = [
    {
      name: 'diagnostics match the API server rules at exact ranges (and are screenshotted)',
      run: async () => {
        const editor = await open('broken.yaml');
        const document = editor.document;
        const found = await waitUntil('diagnostics on broken.yaml', () => {
          const list = diagnosticsOf(document.uri);
          return list.some((d) => d.message.includes('srp.window')) && list.some((d) => d.code === 'missing-stream') ? list : undefined;
        });
        const window = found.find((d) => d.message.includes('srp.window') && d.severity === vscode.DiagnosticSeverity.Error);
        assert(window, `no srp.window error in ${JSON.stringify(found.map((d) => d.message))}`);
        assert(document.getText(window.range) === 'x', `srp.window error covers "${document.getText(window.range)}", expected the "x" of 5x`);
        const protocol = found.find((d) => d.message.includes('spec.protocol'));
        assert(protocol && document.getText(protocol.range) === 'carrier-pigeon', `spec.protocol error range: ${protocol ? document.getText(protocol.range) : 'none'}`);
        await vscode.commands.executeCommand('workbench.actions.view.problems');
        await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
        editor.revealRange(new vscode.Range(0, 0, 0, 0), vscode.TextEditorRevealType.AtTop);
        await new Promise((r) => setTimeout(r, 800));
        await screenshot('diagnostics');
      },
    },
    {
      name: 'completion offers every srp.* attribute, hover explains them',
      run: async () => {
        const editor = await open('broken.yaml');
        const document = editor.document;
        const at = positionOf(document, '    srp.window: 5x');
        await editor.edit((edit) => edit.insert(at, '    \n'));
        const position = new vscode.Position(at.line, 4);
        const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', document.uri, position);
        const labels = list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
        for (const name of ['srp.window.type', 'srp.filter.expression', 'srp.output.deadLetter', 'srp.udf.timeout', 'srp.envs']) {
          assert(labels.includes(name), `completion lacks ${name}: ${labels.join(', ')}`);
        }
        await vscode.commands.executeCommand('undo');
        const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, positionOf(document, 'srp.window', 2));
        const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
        assert(/event-time window/i.test(text), `hover text: ${text}`);
      },
    },
    {
      name: 'quick fix creates the missing Stream; go to definition reaches it',
      run: async () => {
        const editor = await open('broken.yaml');
        const document = editor.document;
        const missing = await waitUntil('missing-stream diagnostic', () => diagnosticsOf(document.uri).find((d) => d.code === 'missing-stream'));
        const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', document.uri, missing.range, vscode.CodeActionKind.QuickFix.value);
        const fix = actions.find((a) => a.title.startsWith('Create Stream'));
        assert(fix?.edit, `no quick fix in ${JSON.stringify(actions.map((a) => a.title))}`);
        assert(await vscode.workspace.applyEdit(fix.edit), 'the quick fix edit did not apply');
        await waitUntil('the missing-stream warning to go', () => !diagnosticsOf(document.uri).some((d) => d.code === 'missing-stream'));
        const definitions = await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>(
          'vscode.executeDefinitionProvider', document.uri, positionOf(document, '- name: orders', 10));
        const target = definitions[0];
        const targetUri = target && ('targetUri' in target ? target.targetUri : target.uri);
        assert(targetUri?.fsPath === fileUri('pipeline.yaml').fsPath, `definition went to ${targetUri?.toString()}`);
        await vscode.commands.executeCommand('workbench.action.files.revert');
      },
    },
    {
      name: 'apply the current file against the real API server, dry run shows the change',
      run: async () => {
        await open('pipeline.yaml');
        const outcome = await vscode.commands.executeCommand<ApplyOutcome>('streamingRuntime.apply');
        assert(outcome && outcome.failed.length === 0, `apply failed: ${JSON.stringify(outcome)}`);
        assert(outcome.applied.length === 4, `applied ${JSON.stringify(outcome.applied)}`);
        const processor = await cluster.get('Processor', 'default', 'enrich');
        assert(processor && (processor.spec as { replicas?: number }).replicas === 1, `live processor: ${JSON.stringify(processor)}`);

        // Another manager takes spec.replicas: our apply does not force; the conflict names the field and manager,
        // declining leaves their value, choosing to force takes the field back.
        await cluster.call('PATCH', '/apis/streaming.tanzu.vmware.com/v1alpha1/namespaces/default/processors/enrich?fieldManager=other-team&force=true',
          JSON.stringify({ apiVersion: 'streaming.tanzu.vmware.com/v1alpha1', kind: 'Processor', metadata: { name: 'enrich' }, spec: { replicas: 2 } }),
          'application/apply-patch+yaml');
        const declined = await vscode.commands.executeCommand<ApplyOutcome>('streamingRuntime.apply', { conflictChoice: 'cancel' });
        const conflict = declined?.conflicts.find((c) => c.object.metadata?.name === 'enrich');
        assert(conflict?.conflicts.some((f) => f.manager === 'other-team' && f.field === '.spec.replicas'), `conflicts: ${JSON.stringify(declined?.conflicts)}`);
        assert(((await cluster.get('Processor', 'default', 'enrich'))?.spec as { replicas?: number }).replicas === 2, 'declining must keep the other manager\'s value');
        const forced = await vscode.commands.executeCommand<ApplyOutcome>('streamingRuntime.apply', { conflictChoice: 'force' });
        assert(forced && forced.conflicts.length === 0 && forced.applied.some((a) => a.resource === 'Processor enrich' && /forced/.test(a.method)), `forced: ${JSON.stringify(forced)}`);
        assert(((await cluster.get('Processor', 'default', 'enrich'))?.spec as { replicas?: number }).replicas === 1, 'forcing must take spec.replicas');

        const editor = await open('pipeline.yaml');
        const replicas = positionOf(editor.document, 'replicas: 1');
        await editor.edit((edit) => edit.replace(new vscode.Range(replicas, replicas.translate(0, 'replicas: 1'.length)), 'replicas: 3'));
        const dry = await vscode.commands.executeCommand<{ outcome: ApplyOutcome; before: string; after: string }>('streamingRuntime.applyDryRun');
        assert(dry && dry.outcome.failed.length === 0, `dry run failed: ${JSON.stringify(dry?.outcome)}`);
        assert(/replicas: 1/.test(dry.before) && /replicas: 3/.test(dry.after), `dry-run diff sides:\n${dry.before}\n---\n${dry.after}`);
        const still = await cluster.get('Processor', 'default', 'enrich');
        assert((still?.spec as { replicas?: number }).replicas === 1, 'a dry run must not persist');
        await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
        const restored = await open('pipeline.yaml');
        const changed = positionOf(restored.document, 'replicas: 3');
        await restored.edit((edit) => edit.replace(new vscode.Range(changed, changed.translate(0, 'replicas: 3'.length)), 'replicas: 1'));
        await restored.document.save();
      },
    },
    {
      name: 'resource explorer and topology follow the cluster within a second; live YAML opens',
      run: async () => {
        await vscode.commands.executeCommand('workbench.view.extension.streamingRuntime');
        await vscode.commands.executeCommand('streamingRuntime.showTopology');
        await waitUntil('the explorer cache to list the applied resources', () => api.state.list('Processor').some((p) => p.metadata?.name === 'enrich'));
        const first = await waitUntil('a live topology', () => {
          const message = api.topology.lastMessage;
          return message?.mode === 'live' && message.layout.nodes.some((n) => n.id === 'Processor/default/enrich') ? message : undefined;
        });
        assert(first.layout.edges.length >= 2, `edges: ${JSON.stringify(first.layout.edges)}`);

        // A status change (what the controllers write) must reach the graph within a second.
        const processor = (await cluster.get('Processor', 'default', 'enrich')) as KubeObject;
        const status = { conditions: [{ type: 'Ready', status: 'False', reason: 'ProcessorDeploying', message: 'waiting for instances', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] };
        const started = Date.now();
        await cluster.call('PUT', '/apis/streaming.tanzu.vmware.com/v1alpha1/namespaces/default/processors/enrich/status', { ...processor, status });
        await waitUntil('the topology to show ProcessorDeploying', () =>
          api.topology.lastMessage?.layout.nodes.find((n) => n.id === 'Processor/default/enrich' && n.ready === 'False' && n.reason === 'ProcessorDeploying'), 10_000);
        const statusLatency = Date.now() - started;
        assert(statusLatency < 1000, `topology updated ${statusLatency} ms after the change (budget 1000 ms)`);

        // The explorer shows the same state: Processors › default › enrich, "Not ready · ProcessorDeploying".
        const groups = api.tree.getChildren();
        const processors = groups.find((g) => g.type === 'group' && g.kind === 'Processor');
        assert(processors, 'no Processors group in the explorer');
        const namespaces = api.tree.getChildren(processors);
        const inDefault = namespaces.find((n) => n.type === 'namespace' && n.namespace === 'default');
        assert(inDefault, `namespaces: ${JSON.stringify(namespaces)}`);
        const enrich = api.tree.getChildren(inDefault).find((n) => n.type === 'resource' && n.name === 'enrich');
        assert(enrich, 'enrich is not in the explorer');
        const item = api.tree.getTreeItem(enrich);
        assert(item.description === 'Not ready · ProcessorDeploying', `explorer item: ${String(item.description)}`);

        // A new resource appears as a node.
        const created = Date.now();
        await cluster.call('POST', '/apis/streaming.tanzu.vmware.com/v1alpha1/namespaces/default/processors', {
          apiVersion: 'streaming.tanzu.vmware.com/v1alpha1', kind: 'Processor',
          metadata: { name: 'audit', namespace: 'default' },
          spec: { type: 'SRP', inputs: [{ name: 'enriched' }], outputs: [{ name: 'audit-log' }] },
        });
        await waitUntil('the new processor in the topology', () => api.topology.lastMessage?.layout.nodes.some((n) => n.id === 'Processor/default/audit'), 10_000);
        const createLatency = Date.now() - created;
        assert(createLatency < 1000, `topology showed the new processor after ${createLatency} ms (budget 1000 ms)`);
        console.log(`topology latency: status ${statusLatency} ms, create ${createLatency} ms`);

        // Throughput: a processor advertising its metrics gets rates on its edges.
        let served = 0;
        const metrics = createServer((_, response) => {
          served += 500;
          response.end(`sr_processor_messages_in_total{input="orders"} ${served}\nsr_processor_messages_out_total{output="enriched"} ${served / 2}\n`);
        });
        await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
        try {
          const port = (metrics.address() as AddressInfo).port;
          await cluster.call('PATCH', '/apis/streaming.tanzu.vmware.com/v1alpha1/namespaces/default/processors/enrich',
            { metadata: { annotations: { [METRICS_URL_ANNOTATION]: `http://127.0.0.1:${port}/metrics` } } }, 'application/merge-patch+json');
          const edge = await waitUntil('a throughput label on orders → enrich', () =>
            api.topology.lastMessage?.layout.edges.find((e) => e.from === 'Stream/default/orders' && e.to === 'Processor/default/enrich' && (e.rate ?? 0) > 0), 20_000);
          assert(edge.rate !== undefined && edge.rate > 0, 'no rate');
        } finally {
          metrics.close();
        }
        await vscode.commands.executeCommand('workbench.action.closePanel');
        await vscode.commands.executeCommand('notifications.clearAll');
        await vscode.commands.executeCommand('workbench.action.toggleMaximizeEditorGroup').then(undefined, () => undefined);
        await screenshot('topology-live');
        await vscode.commands.executeCommand('workbench.action.toggleMaximizeEditorGroup').then(undefined, () => undefined);

        const uri = await vscode.commands.executeCommand<string>('streamingRuntime.openLive', 'Processor/default/enrich');
        const live = await waitUntil('the live document', () => vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri));
        assert(/name: enrich/.test(live.getText()) && /ProcessorDeploying/.test(live.getText()), `live YAML:\n${live.getText()}`);
      },
    },
    {
      name: 'delete the resources of the current file',
      run: async () => {
        await open('pipeline.yaml');
        const deleted = await vscode.commands.executeCommand<string[]>('streamingRuntime.deleteFile', { confirmed: true });
        assert(deleted && deleted.length === 4, `deleted ${JSON.stringify(deleted)}`);
        await waitUntil('the processor to be gone', async () => (await cluster.get('Processor', 'default', 'enrich')) === undefined);
        await waitUntil('the topology to drop it', () => !api.topology.lastMessage?.layout.nodes.some((n) => n.id === 'Processor/default/enrich'), 10_000);
      },
    },
    {
      name: 'without a cluster the topology draws the workspace files (offline)',
      run: async () => {
        const settings = vscode.workspace.getConfiguration('streamingRuntime');
        await settings.update('kubeconfig', join(workspace, 'no-such-kubeconfig'), vscode.ConfigurationTarget.Global);
        try {
          await vscode.commands.executeCommand('streamingRuntime.showTopology');
          const offline = await waitUntil('an offline topology from the YAML files', () => {
            const message = api.topology.lastMessage;
            return message?.mode === 'offline' && message.layout.nodes.some((n) => n.id === 'Processor/default/broken-processor') ? message : undefined;
          }, 20_000);
          assert(offline.layout.nodes.some((n) => n.id === 'Processor/default/enrich'), 'pipeline.yaml is not in the offline topology');
          assert(/no-such-kubeconfig/.test(offline.error ?? ''), `offline reason: ${offline.error}`);
        } finally {
          await settings.update('kubeconfig', kubeconfig, vscode.ConfigurationTarget.Global);
        }
      },
    },
  ];

  const only = process.env.SR_EXT_TEST_FILTER;
  const failures: string[] = [];
  for (const test of tests) {
    if (only && !new RegExp(only).test(test.name)) continue;
    const started = Date.now();
    try {
      await test.run();
      console.log(`ok - ${test.name} (${Date.now() - started} ms)`);
    } catch (error) {
      const message = error instanceof Error ? error.stack ?? error.message : String(error);
      console.log(`not ok - ${test.name}: ${message}`);
      failures.push(`${test.name}: ${message}`);
    }
  }
  cluster.dispose();
  writeFileSync(join(env('SR_EXT_SIGNAL_DIR'), 'results.json'), JSON.stringify({ failures, total: tests.length }));
  if (failures.length > 0) throw new Error(`${failures.length} extension test(s) failed:\n${failures.join('\n')}`);
}
