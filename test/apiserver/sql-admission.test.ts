// Streaming SQL at admission, as users meet it with kubectl: a statement that does not parse, uses something we do
// not run, or names a column its Stream does not have is refused with 422 before anything is stored, and the
// message says which statement, where, and what is supported.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdHandle } from '../support/etcd';
import { startApiServer, type ApiServerHandle } from '../support/apiserver-server';
import { kubectlFor, type Kubectl } from '../support/apiserver-kubectl';

let etcd: EtcdHandle;
let api: ApiServerHandle;
let kubectl: Kubectl;

before(async () => {
  etcd = await startEtcd();
  api = await startApiServer({ etcdEndpoint: etcd.endpoint });
  kubectl = kubectlFor(api.kubeconfigPath);
});

after(async () => {
  kubectl?.cleanup();
  await api?.stop();
  await etcd?.destroy();
});

const STREAMS = `apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: readings }
spec:
  name: readings
  protocol: kafka
  dataSchemaContext:
    schema:
      name: Readings
      namespace: demo
      fields:
        - { name: sensor, type: string }
        - { name: value, type: double }
        - { name: ts, type: long_timestamp-millis, watermark: "\`ts\` - INTERVAL '1' SECOND" }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: averages }
spec:
  name: averages
  protocol: kafka
  dataSchemaContext:
    schema:
      name: Averages
      namespace: demo
      fields:
        - { name: window_start, type: long_timestamp-millis }
        - { name: sensor, type: string }
        - { name: average, type: double }
`;

const processor = (query: string): string => `apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: averages }
spec:
  type: FSQL
  inlineQuery:
    - ${JSON.stringify(query)}
`;

async function applyProcessor(query: string): Promise<{ code: number; stderr: string }> {
  return kubectl.run(['apply', '-f', '-'], { input: processor(query) });
}

test('a valid statement over stored Streams is accepted', async () => {
  const streams = await kubectl.run(['apply', '-f', '-'], { input: STREAMS });
  assert.equal(streams.code, 0, streams.stderr);
  const r = await applyProcessor("INSERT INTO [[STREAM:averages]] SELECT window_start, sensor, AVG(`value`) FROM TABLE(TUMBLE(TABLE [[STREAM:readings]], DESCRIPTOR(ts), INTERVAL '10' SECONDS)) GROUP BY window_start, window_end, sensor");
  assert.equal(r.code, 0, r.stderr);
  const deleted = await kubectl.run(['delete', 'srp', 'averages']);
  assert.equal(deleted.code, 0, deleted.stderr);
});

test('a statement that does not parse: 422 with statement, line and column', async () => {
  const r = await applyProcessor('INSERT INTO [[STREAM:averages]] SELEC sensor FROM [[STREAM:readings]]');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /The Processor "averages" is invalid/);
  assert.match(r.stderr, /spec\.inlineQuery\[0\]/);
  assert.match(r.stderr, /statement 1, line 1, column 33/);
});

test('an unsupported construct: 422 saying what is supported', async () => {
  const r = await applyProcessor('INSERT INTO [[STREAM:averages]] SELECT sensor, RANK() OVER (PARTITION BY sensor ORDER BY `value`) FROM [[STREAM:readings]]');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /statement 1, line 1/);
  assert.match(r.stderr, /ROW_NUMBER/, 'names the supported alternative');
});

test('an unknown column of a stored Stream: 422 naming the column and the ones that exist', async () => {
  const r = await applyProcessor("INSERT INTO [[STREAM:averages]] SELECT window_start, sensr, AVG(`value`) FROM TABLE(TUMBLE(TABLE [[STREAM:readings]], DESCRIPTOR(ts), INTERVAL '10' SECONDS)) GROUP BY window_start, window_end, sensr");
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /spec\.inlineQuery\[0\]/);
  assert.match(r.stderr, /sensr/);
  assert.match(r.stderr, /sensor/, 'lists the columns that exist');
  const stored = await kubectl.run(['get', 'srp', 'averages']);
  assert.notEqual(stored.code, 0, 'nothing stored');
});

test('a bare query has no output: 422 pointing at INSERT INTO or debugQuery', async () => {
  const r = await applyProcessor('SELECT * FROM [[STREAM:readings]]');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /INSERT INTO/);
  assert.match(r.stderr, /debugQuery/);
});
