// End-to-end: what users type with kubectl 1.32 against `sr apiserver` on a real etcd.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcd, type EtcdHandle } from '../support/etcd';
import { startApiServer, type ApiServerHandle } from '../support/apiserver-server';
import { kubectlFor, type Kubectl } from '../support/apiserver-kubectl';
import { waitFor } from '../support/ports';
import { sampleFiles } from './samples';

let etcd: EtcdHandle;
let api: ApiServerHandle;
let kubectl: Kubectl;

const PROCESSOR = `apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata:
  name: p1
  labels: { app: demo, tier: backend }
spec:
  type: SRP
  replicas: 1
  inputs: [{ name: in1 }]
  outputs: [{ name: out1 }]
`;

const STREAM = (name: string, labels = 'app: demo'): string => `apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata:
  name: ${name}
  labels: { ${labels} }
spec:
  protocol: kafka
  storage: { clusterStream: cs-${name} }
`;

before(async () => {
  etcd = await startEtcd();
  api = await startApiServer({ etcdEndpoint: etcd.endpoint });
  kubectl = kubectlFor(api.kubeconfigPath);
});

after(async () => {
  if (process.env.SR_DEBUG_LOGS) process.stderr.write(api?.logs() ?? "");
  kubectl?.cleanup();
  await api?.stop();
  await etcd?.destroy();
});

describe('kubectl against sr apiserver', () => {
  test('every sample manifest applies verbatim (our kinds only)', async () => {
    const files = sampleFiles();
    assert.ok(files.length >= 30, `expected the sample files, found ${files.length}`);
    let total = 0;
    for (const [i, sample] of files.entries()) {
      const r = await kubectl.run(['apply', '-n', `sample-${i}`, '-f', '-'], { input: sample.yaml });
      assert.equal(r.code, 0, `${sample.file}: ${r.stderr}`);
      total += sample.count;
      // ClusterStreams are cluster-wide and files reuse their names with other settings: start each file afresh.
      if (/^kind: ClusterStream$/m.test(sample.yaml)) await kubectl.ok(['delete', 'srcs', '--all', '--wait=false']);
    }
    const all = JSON.parse(await kubectl.ok(['get', 'srs,srp', '-A', '-o', 'json'])) as { items: unknown[] };
    assert.ok(all.items.length > 0);
    assert.ok(all.items.length <= total);
  });

  test('get srs/srp/srcs: table, wide, yaml, -A, -l', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: PROCESSOR });
    await kubectl.ok(['apply', '-f', '-'], { input: STREAM('in1') + '---\n' + STREAM('out1', 'app: other') });
    const table = await kubectl.ok(['get', 'srp']);
    assert.match(table, /^NAME\s+TYPE\s+READY\s+REASON\s+REPLICAS\s+READY REPLICAS\s+AGE/m);
    assert.match(table, /^p1\s+SRP\s+.*\s1\s+.*\d+s$/m);
    const wide = await kubectl.ok(['get', 'srp', 'p1', '-o', 'wide']);
    assert.match(wide, /INPUTS\s+OUTPUTS/);
    assert.match(wide, /in1\s+out1/);
    const yaml = await kubectl.ok(['get', 'srp', 'p1', '-o', 'yaml']);
    assert.match(yaml, /kind: Processor/);
    assert.match(yaml, /uid: [0-9a-f-]{36}/);
    assert.match(yaml, /creationTimestamp: "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/);
    assert.match(yaml, /generation: 1/);
    const everywhere = await kubectl.ok(['get', 'srs', '-A']);
    assert.match(everywhere, /^NAMESPACE\s+NAME/m);
    assert.match(everywhere, /^default\s+in1/m);
    assert.match(everywhere, /^sample-\d+\s+/m);
    const selected = await kubectl.ok(['get', 'srs', '-l', 'app=demo', '-o', 'name']);
    assert.equal(selected.trim(), 'stream.streaming.tanzu.vmware.com/in1');
    const notIn = await kubectl.ok(['get', 'srs', '-l', 'app notin (demo),app', '-o', 'name']);
    assert.equal(notIn.trim(), 'stream.streaming.tanzu.vmware.com/out1');
    await kubectl.ok(['apply', '-f', '-'], { input: 'apiVersion: streaming.tanzu.vmware.com/v1alpha1\nkind: ClusterStream\nmetadata: { name: cs1 }\nspec:\n  name: t1\n  storage:\n    server: { url: "localhost:9092", protocol: kafka }\n' });
    const srcs = await kubectl.ok(['get', 'srcs']);
    assert.match(srcs, /^NAME\s+PROTOCOL\s+SERVER/m);
    assert.match(srcs, /^cs1\s+kafka\s+localhost:9092/m);
  });

  test('explain walks the schema down to every field', async () => {
    const out = await kubectl.ok(['explain', 'stream.spec.dataSchemaContext']);
    assert.match(out, /KIND:\s+Stream/);
    assert.match(out, /FIELD:\s+dataSchemaContext/);
    assert.match(out, /schema\s+<Object>/);
    const meta = await kubectl.ok(['explain', 'processor.metadata.labels']);
    assert.match(meta, /FIELD:\s+labels <map\[string\]string>/);
    const deep = await kubectl.ok(['explain', 'srp.spec.template.spec.containers.env']);
    assert.match(deep, /FIELD:\s+env/);
    // The OpenAPI v2 path (kubectl fetches it as protobuf only).
    const v2 = await kubectl.ok(['explain', 'stream.spec.storage', '--output=plaintext-openapiv2']);
    assert.match(v2, /RESOURCE: storage <Object>/);
    assert.match(v2, /clusterStream\s+<string>/);
  });

  test('label, annotate, patch (json, merge), edit', async () => {
    await kubectl.ok(['label', 'srp', 'p1', 'team=data']);
    await kubectl.ok(['annotate', 'srp', 'p1', 'note=hello']);
    await kubectl.ok(['patch', 'srp', 'p1', '--type=merge', '-p', '{"spec":{"attributes":{"srp.window":"5s"}}}']);
    await kubectl.ok(['patch', 'srp', 'p1', '--type=json', '-p', '[{"op":"add","path":"/spec/attributes/srp.lateEventMode","value":"DROP"}]']);
    const editor = join(api.dir, 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\nsed -i 's/replicas: 1/replicas: 2/' "$1"\n`);
    chmodSync(editor, 0o755);
    await kubectl.ok(['edit', 'srp', 'p1'], { env: { KUBE_EDITOR: editor, EDITOR: editor } });
    const obj = JSON.parse(await kubectl.ok(['get', 'srp', 'p1', '-o', 'json', '--show-managed-fields'])) as {
      metadata: { labels: Record<string, string>; annotations: Record<string, string>; generation: number; managedFields: { manager: string }[] };
      spec: { replicas: number; attributes: Record<string, string> };
    };
    assert.equal(obj.metadata.labels.team, 'data');
    assert.equal(obj.metadata.annotations.note, 'hello');
    assert.equal(obj.spec.attributes['srp.window'], '5s');
    assert.equal(obj.spec.attributes['srp.lateEventMode'], 'DROP');
    assert.equal(obj.spec.replicas, 2);
    assert.equal(obj.metadata.generation, 4, 'generation moves on spec changes only (label/annotate do not)');
    const managers = obj.metadata.managedFields.map((m) => m.manager).sort();
    assert.ok(managers.includes('kubectl-edit'), managers.join());
    assert.ok(managers.includes('kubectl-label'), managers.join());
  });

  test('server-side apply with managedFields and conflicts', async () => {
    const manifest = STREAM('ssa1').replace('protocol: kafka', 'protocol: kafka\n  partitionCount: 2');
    await kubectl.ok(['apply', '--server-side', '--field-manager', 'alice', '-f', '-'], { input: manifest });
    const changed = manifest.replace('partitionCount: 2', 'partitionCount: 3');
    const conflict = await kubectl.run(['apply', '--server-side', '--field-manager', 'bob', '-f', '-'], { input: changed });
    assert.notEqual(conflict.code, 0);
    assert.match(conflict.stderr, /conflict with "alice"/);
    assert.match(conflict.stderr, /\.spec\.partitionCount/);
    await kubectl.ok(['apply', '--server-side', '--force-conflicts', '--field-manager', 'bob', '-f', '-'], { input: changed });
    const obj = JSON.parse(await kubectl.ok(['get', 'srs', 'ssa1', '-o', 'json', '--show-managed-fields'])) as {
      spec: { partitionCount: number };
      metadata: { managedFields: { manager: string; operation: string; fieldsV1: Record<string, Record<string, unknown>> }[] };
    };
    assert.equal(obj.spec.partitionCount, 3);
    const bob = obj.metadata.managedFields.find((m) => m.manager === 'bob');
    assert.equal(bob?.operation, 'Apply');
    assert.ok(bob?.fieldsV1['f:spec']?.['f:partitionCount'] !== undefined);
  });

  test('scale srp, status updates, wait --for=condition=Ready, get -w', async () => {
    await kubectl.ok(['scale', 'srp', 'p1', '--replicas=3']);
    assert.equal((await kubectl.ok(['get', 'srp', 'p1', '-o', 'jsonpath={.spec.replicas}'])).trim(), '3');
    const watcher = kubectl.start(['get', 'srp', '-w']);
    const waiter = kubectl.run(['wait', '--for=condition=Ready', 'srp/p1', '--timeout=60s']);
    await waitFor('get -w lists p1', () => /p1\s+SRP/.test(watcher.output()), 30_000);
    const status = JSON.stringify({ status: { replicas: 3, readyReplicas: 3, conditions: [{ type: 'Ready', status: 'True', reason: 'Running', message: 'all replicas ready', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z/, 'Z') }] } });
    await kubectl.ok(['patch', 'srp', 'p1', '--subresource=status', '--type=merge', '-p', status]);
    const waited = await waiter;
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /condition met/);
    await waitFor('get -w sees the Ready change', () => /p1\s+SRP\s+True\s+Running/.test(watcher.output()), 30_000);
    await watcher.stop();
    // Status changes never bump generation; spec changes through /status are ignored.
    const obj = JSON.parse(await kubectl.ok(['get', 'srp', 'p1', '-o', 'json'])) as { metadata: { generation: number }; spec: { replicas: number } };
    assert.equal(obj.spec.replicas, 3);
    await kubectl.ok(['patch', 'srp', 'p1', '--subresource=status', '--type=merge', '-p', '{"spec":{"replicas":9}}']);
    assert.equal((await kubectl.ok(['get', 'srp', 'p1', '-o', 'jsonpath={.spec.replicas}'])).trim(), '3');
  });

  test('create --dry-run=server persists nothing', async () => {
    const out = await kubectl.ok(['create', '--dry-run=server', '-f', '-', '-o', 'name'], { input: STREAM('dry1') });
    assert.match(out, /dry1/);
    const r = await kubectl.run(['get', 'srs', 'dry1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /streams.streaming.tanzu.vmware.com "dry1" not found/);
  });

  test('validation errors are kube-style with field paths', async () => {
    const bad = `apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: bad1 }
spec:
  type: SRP
  replicas: -1
  inputs: [{ name: in1 }]
  attributes:
    srp.window: five seconds
    srp.lateEventMode: SOMETIMES
`;
    const r = await kubectl.run(['apply', '-f', '-'], { input: bad });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /The Processor "bad1" is invalid:/);
    assert.match(r.stderr, /spec\.replicas/);
    assert.match(r.stderr, /spec\.attributes\[srp\.window\]/);
    assert.match(r.stderr, /spec\.attributes\[srp\.lateEventMode\]/);
    const unknown = await kubectl.run(['apply', '-f', '-'], { input: STREAM('strict1').replace('protocol: kafka', 'protocol: kafka\n  bogusField: 1') });
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown field "spec.bogusField"/);
  });

  test('409 Conflict on a stale update', async () => {
    const stale = await kubectl.ok(['get', 'srs', 'in1', '-o', 'json']);
    await kubectl.ok(['label', 'srs', 'in1', 'bump=1']);
    const r = await kubectl.run(['replace', '-f', '-'], { input: stale });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation cannot be fulfilled on streams.streaming.tanzu.vmware.com "in1": the object has been modified; please apply your changes to the latest version and try again/);
  });

  test('delete with finalizers completes when the last finalizer is removed', async () => {
    await kubectl.ok(['apply', '-f', '-'], { input: STREAM('fin1').replace('metadata:\n', 'metadata:\n  finalizers: [example.com/cleanup]\n') });
    const del = await kubectl.run(['delete', 'srs', 'fin1', '--wait=false']);
    assert.equal(del.code, 0, del.stderr);
    const obj = JSON.parse(await kubectl.ok(['get', 'srs', 'fin1', '-o', 'json'])) as { metadata: { deletionTimestamp?: string } };
    assert.ok(obj.metadata.deletionTimestamp, 'deletionTimestamp set while the finalizer remains');
    await kubectl.ok(['patch', 'srs', 'fin1', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    const gone = await kubectl.run(['get', 'srs', 'fin1']);
    assert.match(gone.stderr, /not found/);
    // Plain delete (kubectl waits for it to disappear).
    await kubectl.ok(['apply', '-f', '-'], { input: STREAM('del1') });
    const plain = await kubectl.run(['delete', 'srs', 'del1', '--timeout=30s']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /deleted/);
  });
});
