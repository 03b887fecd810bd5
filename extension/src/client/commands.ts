// Cluster commands: apply the current file (optionally as a server-side dry run with a diff of what would change),
// delete, and open a live resource as read-only YAML. Apply never forces: when another field manager owns fields the
// file changes, the user sees which fields and managers and chooses whether to take them (a quick pick, or the
// *Apply Current File (Force Conflicts)* command).
import * as vscode from 'vscode';
import { stringify } from 'yaml';
import { ApiClient, ApplyConflictError, FieldConflict, isNamespaced, KindName, KINDS, KubeObject, resourcePath } from '../cluster/api-client';
import { parseYamlFile } from '../model/yaml-documents';
import { ClusterState } from './cluster-state';

export const LIVE_SCHEME = 'sr-live';
export const DIFF_SCHEME = 'sr-diff';

/** Our resources in a YAML text (documents with errors or other kinds are skipped). */
export function resourcesInText(text: string): KubeObject[] {
  return parseYamlFile(text)
    .documents.filter((d) => d.kind && d.doc.errors.length === 0 && d.name)
    .map((d) => d.value as KubeObject);
}

/** What a diff should not show: server bookkeeping that changes on every write. */
export function withoutBookkeeping(object: KubeObject | undefined): KubeObject | undefined {
  if (!object) return undefined;
  const copy = JSON.parse(JSON.stringify(object)) as KubeObject;
  if (copy.metadata) {
    for (const field of ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink']) {
      delete copy.metadata[field];
    }
    const annotations = copy.metadata.annotations as Record<string, unknown> | undefined;
    if (annotations) {
      delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
      if (Object.keys(annotations).length === 0) delete copy.metadata.annotations;
    }
  }
  return copy;
}

export function liveUri(kind: KindName, namespace: string | undefined, name: string): vscode.Uri {
  return vscode.Uri.from({ scheme: LIVE_SCHEME, path: `/${kind}/${namespace ?? '_'}/${name}.yaml` });
}

export class LiveDocuments implements vscode.TextDocumentContentProvider {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  /** Contents of the dry-run diff sides, by URI path. */
  readonly diffContents = new Map<string, string>();

  constructor(private readonly state: ClusterState) {}

  refresh(uri: vscode.Uri): void {
    this.changed.fire(uri);
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    if (uri.scheme === DIFF_SCHEME) return this.diffContents.get(uri.path) ?? '';
    const [, kind, namespace, file] = uri.path.split('/');
    const name = (file ?? '').replace(/\.yaml$/, '');
    if (!kind || !(KINDS as readonly string[]).includes(kind)) return `# unknown resource ${uri.path}\n`;
    try {
      const object = await this.state.api().get(kind as KindName, namespace === '_' ? undefined : namespace, name);
      if (!object) return `# ${kind} ${namespace}/${name} does not exist (any more)\n`;
      const copy = JSON.parse(JSON.stringify(object)) as KubeObject;
      if (copy.metadata) delete copy.metadata.managedFields;
      return stringify(copy, { lineWidth: 0 });
    } catch (error) {
      return `# could not read ${kind} ${name}: ${error instanceof Error ? error.message : String(error)}\n`;
    }
  }
}

function fieldManager(): string {
  return vscode.workspace.getConfiguration('streamingRuntime').get<string>('fieldManager') || 'sr-vscode';
}

function describe(object: KubeObject): string {
  return `${object.kind ?? '?'} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name ?? '?'}`;
}

function currentYaml(): { text: string; uri: vscode.Uri } | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showErrorMessage('Streaming Runtime: open a YAML file first.');
    return undefined;
  }
  return { text: editor.document.getText(), uri: editor.document.uri };
}

export interface ApplyOutcome {
  applied: { resource: string; method: string }[];
  failed: { resource: string; error: string }[];
  /** Resources refused because other managers own fields they change (not applied; forcing is the user's call). */
  conflicts: { resource: string; object: KubeObject; conflicts: FieldConflict[] }[];
}

/** Applies every resource of the text in order (ClusterStreams first, then Streams, then Processors). */
export async function applyResources(api: ApiClient, objects: KubeObject[], dryRun: boolean, force = false): Promise<{ outcome: ApplyOutcome; results: { object: KubeObject; live?: KubeObject; result?: KubeObject }[] }> {
  const order = (o: KubeObject): number => KINDS.indexOf(o.kind as KindName);
  const sorted = [...objects].sort((a, b) => order(a) - order(b));
  const outcome: ApplyOutcome = { applied: [], failed: [], conflicts: [] };
  const results: { object: KubeObject; live?: KubeObject; result?: KubeObject }[] = [];
  for (const object of sorted) {
    try {
      const applied = await api.apply(object, { fieldManager: fieldManager(), dryRun, force });
      outcome.applied.push({ resource: describe(object), method: applied.method });
      results.push({ object, result: applied.result, ...(applied.live ? { live: applied.live } : {}) });
    } catch (error) {
      if (error instanceof ApplyConflictError) outcome.conflicts.push({ resource: describe(object), object, conflicts: error.conflicts });
      else outcome.failed.push({ resource: describe(object), error: error instanceof Error ? error.message : String(error) });
      results.push({ object });
    }
  }
  return { outcome, results };
}

/** `Stream default/orders: .spec.partitionCount (owned by "kubectl-edit")`, one line per resource. */
export function describeConflicts(conflicts: ApplyOutcome['conflicts']): string[] {
  return conflicts.map((c) => {
    const byManager = new Map<string, string[]>();
    for (const { manager, field } of c.conflicts) byManager.set(manager, [...(byManager.get(manager) ?? []), field]);
    const parts = [...byManager].map(([manager, fields]) => `${fields.join(', ')} (owned by "${manager}")`);
    return `${c.resource}: ${parts.join('; ')}`;
  });
}

type ConflictChoice = 'force' | 'cancel';

/** Asks whether to take the conflicting fields; `preset` (tests, scripts) answers without asking. */
async function chooseOnConflict(conflicts: ApplyOutcome['conflicts'], preset: unknown): Promise<ConflictChoice> {
  if (preset === 'force' || preset === 'cancel') return preset;
  const managers = [...new Set(conflicts.flatMap((c) => c.conflicts.map((f) => `"${f.manager}"`)))].join(', ');
  const lines = describeConflicts(conflicts);
  const picked = await vscode.window.showQuickPick(
    [
      { label: `$(warning) Force: take ownership from ${managers}`, detail: lines.join(' · '), choice: 'force' as const },
      { label: `Cancel: keep the values ${managers} set`, detail: 'Nothing more is applied; edit the file or coordinate with the other manager.', choice: 'cancel' as const },
    ],
    { title: `Apply conflicts with ${managers}`, placeHolder: lines.join(' · '), ignoreFocusOut: true },
  );
  return picked?.choice ?? 'cancel';
}

export function registerCommands(context: vscode.ExtensionContext, state: ClusterState, live: LiveDocuments, log: vscode.OutputChannel): void {
  const register = (id: string, run: (...args: unknown[]) => Promise<unknown>): void => {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: unknown[]) => {
        try {
          return await run(...args);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          log.appendLine(`${id}: ${message}`);
          void vscode.window.showErrorMessage(`Streaming Runtime: ${message}`);
          return undefined;
        }
      }),
    );
  };

  const applyFile = async (force: boolean, conflictChoice: unknown): Promise<ApplyOutcome | undefined> => {
    const file = currentYaml();
    if (!file) return undefined;
    const objects = resourcesInText(file.text);
    if (objects.length === 0) throw new Error('no ClusterStream, Stream or Processor in this file');
    const api = state.api();
    const { outcome } = await applyResources(api, objects, false, force);
    if (outcome.conflicts.length > 0) {
      for (const line of describeConflicts(outcome.conflicts)) log.appendLine(`CONFLICT ${line}`);
      if ((await chooseOnConflict(outcome.conflicts, conflictChoice)) === 'force') {
        const forced = await applyResources(api, outcome.conflicts.map((c) => c.object), false, true);
        for (const a of forced.outcome.applied) log.appendLine(`forced ${a.resource}`);
        outcome.applied.push(...forced.outcome.applied.map((a) => ({ ...a, method: `${a.method} (forced)` })));
        outcome.failed.push(...forced.outcome.failed);
        outcome.conflicts = forced.outcome.conflicts;
      }
    }
    for (const a of outcome.applied) log.appendLine(`applied ${a.resource} (${a.method})`);
    for (const f of outcome.failed) log.appendLine(`FAILED ${f.resource}: ${f.error}`);
    const problems = [...outcome.failed.map((f) => `${f.resource}: ${f.error}`), ...describeConflicts(outcome.conflicts).map((line) => `not applied, conflicts: ${line}`)];
    if (problems.length > 0) void vscode.window.showErrorMessage(`Streaming Runtime: ${problems.join('; ')}`);
    else void vscode.window.showInformationMessage(`Streaming Runtime: applied ${outcome.applied.map((a) => a.resource).join(', ')}`);
    return outcome;
  };
  const conflictChoiceOf = (options: unknown): unknown => (typeof options === 'object' && options !== null ? (options as { conflictChoice?: unknown }).conflictChoice : undefined);

  register('streamingRuntime.apply', async (options: unknown) => applyFile(false, conflictChoiceOf(options)));
  register('streamingRuntime.applyForce', async () => applyFile(true, 'force'));

  register('streamingRuntime.applyDryRun', async () => {
    const file = currentYaml();
    if (!file) return undefined;
    const objects = resourcesInText(file.text);
    if (objects.length === 0) throw new Error('no ClusterStream, Stream or Processor in this file');
    const { outcome, results } = await applyResources(state.api(), objects, true);
    const before = results.map((r) => (r.live ? stringify(withoutBookkeeping(r.live), { lineWidth: 0 }) : `# ${describe(r.object)}: does not exist yet\n`));
    const after = results.map((r) => (r.result ? stringify(withoutBookkeeping(r.result), { lineWidth: 0 }) : `# ${describe(r.object)}: rejected\n`));
    const stamp = Date.now();
    const left = vscode.Uri.from({ scheme: DIFF_SCHEME, path: `/live-${stamp}.yaml` });
    const right = vscode.Uri.from({ scheme: DIFF_SCHEME, path: `/dry-run-${stamp}.yaml` });
    live.diffContents.set(left.path, before.join('---\n'));
    live.diffContents.set(right.path, after.join('---\n'));
    await vscode.commands.executeCommand('vscode.diff', left, right, 'Live ↔ Server dry run');
    const refused = [...outcome.failed.map((f) => `${f.resource}: ${f.error}`), ...describeConflicts(outcome.conflicts).map((line) => `conflicts: ${line}`)];
    if (refused.length > 0) void vscode.window.showWarningMessage(`Streaming Runtime: the server would reject ${refused.join('; ')}`);
    return { outcome, before: before.join('---\n'), after: after.join('---\n') };
  });

  register('streamingRuntime.deleteFile', async (options: unknown) => {
    const file = currentYaml();
    if (!file) return undefined;
    const objects = resourcesInText(file.text);
    const confirmed = typeof options === 'object' && options !== null && (options as { confirmed?: unknown }).confirmed === true;
    if (!confirmed) {
      const answer = await vscode.window.showWarningMessage(
        `Delete ${objects.map(describe).join(', ')} from the cluster?`, { modal: true }, 'Delete');
      if (answer !== 'Delete') return undefined;
    }
    const deleted: string[] = [];
    for (const object of objects.reverse()) {
      const kind = object.kind as KindName;
      const namespace = isNamespaced(kind) ? object.metadata?.namespace ?? state.api().connection.namespace : undefined;
      const response = await state.api().request('DELETE', resourcePath(kind, namespace, object.metadata?.name ?? ''));
      if (response.status < 300) deleted.push(describe(object));
    }
    void vscode.window.showInformationMessage(`Streaming Runtime: deleted ${deleted.join(', ') || 'nothing'}`);
    return deleted;
  });

  register('streamingRuntime.delete', async (node: unknown) => {
    const target = asTarget(node);
    if (!target) throw new Error('select a resource in the Streaming Runtime explorer');
    const answer = await vscode.window.showWarningMessage(`Delete ${target.kind} ${target.name}?`, { modal: true }, 'Delete');
    if (answer !== 'Delete') return undefined;
    await state.api().delete(target.kind, target.namespace, target.name);
    return true;
  });

  register('streamingRuntime.openLive', async (node: unknown) => {
    const target = asTarget(node);
    if (!target) throw new Error('select a resource in the Streaming Runtime explorer');
    const uri = liveUri(target.kind, target.namespace, target.name);
    live.refresh(uri);
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(document, 'yaml');
    await vscode.window.showTextDocument(document, { preview: true });
    return uri.toString();
  });

  register('streamingRuntime.refresh', async () => {
    state.restart();
    return undefined;
  });
}

/** A tree node, or `{kind, namespace, name}`, or a topology node id `Kind/namespace/name`. */
export function asTarget(node: unknown): { kind: KindName; namespace?: string; name: string } | undefined {
  if (typeof node === 'string') {
    const [kind, namespace, ...rest] = node.split('/');
    const name = rest.join('/');
    if (!kind || !(KINDS as readonly string[]).includes(kind) || !name) return undefined;
    return { kind: kind as KindName, name, ...(namespace ? { namespace } : {}) };
  }
  if (typeof node !== 'object' || node === null) return undefined;
  const candidate = node as { kind?: unknown; namespace?: unknown; name?: unknown };
  if (typeof candidate.kind !== 'string' || !(KINDS as readonly string[]).includes(candidate.kind) || typeof candidate.name !== 'string') return undefined;
  return {
    kind: candidate.kind as KindName,
    name: candidate.name,
    ...(typeof candidate.namespace === 'string' && candidate.kind !== 'ClusterStream' ? { namespace: candidate.namespace } : {}),
  };
}
