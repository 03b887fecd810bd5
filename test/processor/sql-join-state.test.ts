// Regular-join state across a crash, through the real `sr processor` (an FSQL configuration) and the Kafka-protocol
// cluster, with the state in RocksDB (`srp.window.state: ROCKSDB`, the attribute SRP windows use):
//  1. order 1 arrives alone (no user yet): joined with nothing, acknowledged — its offset committed;
//  2. order 2 arrives and the processor is killed (SIGKILL) as soon as its state record is on disk, whether or not
//     its offset was committed yet (Kafka commits every 200 ms): the broker may deliver it again;
//  3. the processor starts again on the same state directory, the user arrives, and each order's joined row comes
//     out exactly once — in memory the orders would be gone and nothing would come out.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlTable } from '../../crds/sql/table';
import type { ProcessorConfig } from '../../processor/config';
import { kafkaGroupOf } from '../../processor/binders/factory';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { waitFor } from '../support/ports';
import { tempDir } from '../support/tmp';
import { kafkaClientFor, kafkaProduce, RabbitCollector, useProcessorTestResources, type ProcessorProcess } from '../support/processor-harness';

const resources = useProcessorTestResources();
const { closers, exchanges, queues } = resources;
const id = uniqueName('sqljs');
const stateDirs: Array<{ remove(): void }> = [];
after(() => {
  for (const dir of stateDirs) dir.remove();
});

function sqlTable(name: string, stream: string, columns: Array<[string, 'BIGINT' | 'STRING']>): SqlTable {
  return {
    name, stream,
    columns: columns.map(([column, type]) => ({ name: column, type: { name: type, nullable: true }, source: 'payload' as const })),
    valueFormat: 'json', upsert: false, startupMode: 'earliest-offset', options: {},
  };
}

interface SqlDebugState {
  sql: { pendingRows: number; engine: { state: { type: string; puts?: number; recordsRestored?: number } } };
}

async function debugState(proc: ProcessorProcess): Promise<SqlDebugState> {
  return (await (await fetch(`${proc.debugUrl}/debug/state`)).json()) as SqlDebugState;
}

test('ROCKSDB: a join row acknowledged before a SIGKILL still joins after the restart, exactly once', async () => {
  const ordersTopic = `${id}-orders`;
  const usersTopic = `${id}-users`;
  const output = `${id}-out`;
  exchanges.push(output);
  queues.push(`${output}.collector`);
  await resources.kafka.createTopic(ordersTopic, 1);
  await resources.kafka.createTopic(usersTopic, 1);
  const stateDir = tempDir('sql-join-state-');
  stateDirs.push(stateDir);
  const collector = await RabbitCollector.start(rabbitUrl(), output);
  closers.push(collector);
  const kafka = { server: { url: resources.kafka.bootstrap }, contentType: 'application/json' };
  const config: ProcessorConfig = {
    name: 'join-state', namespace: 'test', group: `${id}-group`, instanceIndex: 0, instanceCount: 1,
    inputs: [
      { stream: 'orders', protocol: 'kafka', destination: ordersTopic, ...kafka },
      { stream: 'users', protocol: 'kafka', destination: usersTopic, ...kafka },
    ],
    outputs: [{ stream: 'enriched', protocol: 'rabbitmq', destination: output, server: { url: rabbitUrl() } }],
    attributes: { 'srp.window.state': 'ROCKSDB' },
    stateDir: stateDir.path,
    http: { port: 0 },
    sql: {
      statements: ['INSERT INTO [[STREAM:enriched]] SELECT o.id, u.name FROM [[STREAM:orders]] AS o JOIN [[STREAM:users]] AS u ON o.user_id = u.user_id'],
      tables: [
        sqlTable('Orders', 'orders', [['id', 'BIGINT'], ['user_id', 'STRING']]),
        sqlTable('Users', 'users', [['user_id', 'STRING'], ['name', 'STRING']]),
        sqlTable('Enriched', 'enriched', [['id', 'BIGINT'], ['name', 'STRING']]),
      ],
    },
  };
  const admin = kafkaClientFor(resources.kafka.bootstrap).admin();
  await admin.connect();
  closers.push({ close: () => admin.disconnect() });
  const ordersGroup = kafkaGroupOf(config.inputs[0], config);
  const committed = async (): Promise<number> => {
    const [topic] = await admin.fetchOffsets({ groupId: ordersGroup, topics: [ordersTopic] });
    return Number(topic?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
  };

  const first = await resources.startReady(config);
  assert.equal((await debugState(first)).sql.engine.state.type, 'ROCKSDB');
  await kafkaProduce(resources.kafka.bootstrap, ordersTopic, [{ payload: JSON.stringify({ id: 1, user_id: 'u1' }) }]);
  await waitFor('order 1 acknowledged (offset 1 committed)', async () => (await committed()) === 1, 30_000, 100);
  await kafkaProduce(resources.kafka.bootstrap, ordersTopic, [{ payload: JSON.stringify({ id: 2, user_id: 'u1' }) }]);
  await waitFor('order 2 on disk', async () => ((await debugState(first)).sql.engine.state.puts ?? 0) >= 2, 30_000, 5);
  await first.kill();
  assert.equal(collector.messages.length, 0, 'no user yet: nothing joined');

  const second = await resources.startReady(config);
  const restored = (await debugState(second)).sql.engine.state;
  assert.equal(restored.recordsRestored, 2, 'both orders restored');
  // Order 2 may come again (its offset may not have been committed before the kill): it is recognised.
  await waitFor('order 2 settled', async () => (await debugState(second)).sql.pendingRows === 0, 30_000, 100);
  await kafkaProduce(resources.kafka.bootstrap, usersTopic, [{ payload: JSON.stringify({ user_id: 'u1', name: 'ann' }) }]);
  await waitFor('the joined rows', () => collector.messages.length >= 2, 30_000, 100);
  await new Promise((r) => setTimeout(r, 1500));
  const rows = collector.messages.map((m) => JSON.parse(m.payload) as { id: number; name: string }).sort((a, b) => a.id - b.id);
  assert.deepEqual(rows, [{ id: 1, name: 'ann' }, { id: 2, name: 'ann' }], 'each order joined once');
  assert.equal(await second.stop(), 0);
});
