// End to end: streaming SQL over RabbitMQ Streams on the real `sr up`. The original's iot-monitoring and
// anomaly-detection statements, verbatim, with their Streams bound to RabbitMQ ClusterStreams (`protocol: rabbitmq`,
// unique exchange names on the machine's RabbitMQ): JSON records in, rows out of a RabbitMQ exchange, every row
// compared with SQLite's answer over the same records (test/support/sql-oracle.ts).
//  - iot-monitoring: a partitioned input (`keys`: five partition queues), records spread over every partition, so a
//    window closes only once the watermark of every partition passed it; then two replicas through the keyed exchange
//    (a RabbitMQ exchange of partition queues).
//  - anomaly detection: `event_time` is `metadata.from: timestamp`; on RabbitMQ that is the AMQP `timestamp`
//    property (milliseconds as JavaScript publishers write it, seconds as AMQP and Spring write it).
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as amqp from 'amqplib';
import { parseAllDocuments, stringify } from 'yaml';
import { useSrUp } from '../support/controllers-up';
import { SAMPLES_DIR } from '../support/controllers-samples';
import { rabbitProbe, type OutMessage } from '../support/controllers-data';
import { rabbitCleanup } from '../support/processor-harness';
import { rabbitUrl, uniqueName } from '../support/rabbitmq';
import { SqlOracle, canonicalRows, sqlTime, type OracleValue } from '../support/sql-oracle';
import { upScenario } from '../support/up-scenario';
import { waitFor } from '../support/ports';
import { MINUTE, iotEvents, iotExpected, type IotEvent } from '../support/iot-monitoring';

const sr = useSrUp();
const run = uniqueName('sqlrmq');
const PARTITIONS = 5; // a partitioned Stream's default partitionCount
const cleanup = { exchanges: [] as string[], queues: [] as string[] };
after(async () => { await rabbitCleanup(rabbitUrl(), cleanup.exchanges, cleanup.queues); });

interface Doc { kind?: string; metadata?: { name?: string }; spec?: Record<string, unknown> & { name?: string; type?: string; protocol?: string; storage?: { clusterStream?: string } } }

/** A sample file's FSQL Processors (with `attributes` added) and the Streams their statements name (its SRPs, with
 *  container images, are not what is tested), every Stream on RabbitMQ under a name of this run; `edit` changes a
 *  Stream further. Returns the YAML and the exchange names. */
function onRabbit(file: string, edit: (stream: Doc) => void = () => undefined, attributes: Record<string, string> = {}): { yaml: string; exchange: (stream: string) => string } {
  const docs = parseAllDocuments(readFileSync(join(SAMPLES_DIR, file), 'utf8')).map((d) => d.toJSON() as Doc | null);
  const processors = docs.filter((d): d is Doc => d?.spec?.type === 'FSQL');
  for (const p of processors) if (p.spec) p.spec.attributes = { ...(p.spec.attributes as Record<string, string> | undefined), ...attributes };
  const named = new Set(processors.flatMap((p) => [...JSON.stringify(p.spec?.inlineQuery ?? []).matchAll(/\[\[STREAM:([^\]]+)\]\]/g)].map((m) => m[1])));
  const streams = new Map<string, Doc>();
  for (const d of docs) if (d?.kind === 'Stream' && named.has(d.metadata?.name ?? '') && !streams.has(d.metadata?.name ?? '')) streams.set(d.metadata?.name ?? '', d);
  const kept = [...streams.values(), ...processors];
  const exchanges = new Map<string, string>();
  for (const doc of kept) {
    if (doc.kind !== 'Stream' || !doc.spec) continue;
    doc.spec.protocol = 'rabbitmq';
    doc.spec.name = `${run}-${doc.spec.name ?? ''}`;
    if (doc.spec.storage?.clusterStream) doc.spec.storage.clusterStream = `${run}-${doc.spec.storage.clusterStream}`;
    exchanges.set(doc.metadata?.name ?? '', doc.spec.name);
    edit(doc);
  }
  return {
    yaml: kept.map((d) => stringify(d)).join('---\n'),
    exchange: (stream) => {
      const name = exchanges.get(stream);
      if (!name) throw new Error(`no Stream ${stream}`);
      return name;
    },
  };
}

/** Publishes JSON records with confirms: to a partition (routing key `<exchange>-<p>` and `scst_partition`, as a
 *  partitioned Spring or SRP producer does) or unpartitioned, with the AMQP `timestamp` property when given. */
async function publish(exchange: string, records: { value: object; partition?: number; timestamp?: number }[]): Promise<void> {
  const connection = await amqp.connect(rabbitUrl());
  try {
    const channel = await connection.createConfirmChannel();
    for (const r of records) {
      const headers: Record<string, string> = { contentType: 'application/json' };
      if (r.partition !== undefined) headers.scst_partition = String(r.partition);
      const routingKey = r.partition !== undefined ? `${exchange}-${r.partition}` : exchange;
      const options: amqp.Options.Publish = { headers, contentType: 'application/json', persistent: true, mandatory: true };
      if (r.timestamp !== undefined) options.timestamp = r.timestamp;
      if (!channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(r.value)), options)) await new Promise((r) => channel.once('drain', r));
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}


/** Waits until `expected` rows came, then a little longer so a duplicate would show. */
async function rowsOf(probe: { messages: OutMessage[] }, expected: number, timeoutMs = 60_000): Promise<Record<string, unknown>[]> {
  let settledAt = 0;
  await waitFor(`${expected} rows`, () => {
    if (probe.messages.length < expected) return false;
    settledAt ||= Date.now();
    return Date.now() - settledAt > 2000;
  }, timeoutMs, 100).catch((err: unknown) => {
    throw new Error(`${String(err)}; got ${probe.messages.length}: ${probe.messages.slice(0, 5).map((m) => m.value).join(' | ')}`);
  });
  return probe.messages.map((m) => JSON.parse(m.value) as Record<string, unknown>);
}

const scenario = (name: string, body: () => Promise<void>): void => upScenario(sr, name, body);

/** Five error codes, one per partition queue of the input. */
const IOT_CODES = ['C-1', 'C-2', 'C-3', 'C-4', null];

scenario('iot-monitoring on RabbitMQ: windows over five partition queues equal SQLite; two replicas through the RabbitMQ exchange agree', async () => {
  const processor = 'iot-monitoring-sql-aggregation';
  const sample = onRabbit('iot-monitoring__streaming-pipeline.yaml', (stream) => {
    // Partitioned by error_code: the processor consumes one queue per partition.
    if (stream.metadata?.name === 'iot-monitoring-stream' && stream.spec) stream.spec.keys = ['error_code'];
  }, {
    // The default idle timeout (30 s) could release the late partition on a slow machine before its records come.
    'srp.watermark.idleTimeout': '5m',
  });
  const input = sample.exchange('iot-monitoring-stream');
  const output = sample.exchange('error-count-stream');
  const exchangeDestination = `${input}.${processor}.exchange`;
  cleanup.exchanges.push(input, output, `${input}.${processor}.dlq`, exchangeDestination, `${exchangeDestination}.${processor}.exchange.dlq`);
  cleanup.queues.push(...Array.from({ length: PARTITIONS }, (_, p) => `${input}.${processor}-${p}`), `${input}.${processor}.dlq`,
    ...Array.from({ length: 12 }, (_, p) => `${exchangeDestination}.${processor}.exchange-${p}`));
  // The rows' reader, bound before anything is written (the processor publishes `mandatory`).
  const probe = await rabbitProbe(output);
  try {
    await sr.up.apply(sample.yaml);
    await sr.up.waitReady('srp', processor, 120_000);
    // The events spread over every partition, then a row per partition that moves its watermark past the fourth
    // minute. The last partition's records come only after the others' (a partition fetched late): the windows must
    // wait for it, since a partition the processor consumes holds the watermark back from the start, not from its
    // first record — else they would fire without its rows and drop them as late.
    const send = async (events: IotEvent[], closeAt: number): Promise<void> => {
      const tick = { error_code: 'C-1', type: 'INFO', application: 'a', version: '1', description: 'tick', ts: closeAt };
      const records = [...events.map((value, i) => ({ value, partition: i % PARTITIONS })), ...Array.from({ length: PARTITIONS }, (_, partition) => ({ value: tick, partition }))];
      const last = PARTITIONS - 1;
      await publish(input, records.filter((r) => r.partition !== last));
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(probe.messages.length, 0, `no window closes before partition ${last} was read: ${probe.messages.slice(0, 3).map((m) => m.value).join(' | ')}`);
      await publish(input, records.filter((r) => r.partition === last));
    };

    const base = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE;
    const first = iotEvents(base, 400, 'one', IOT_CODES);
    await send(first, base + 6 * MINUTE);
    const expectedFirst = await iotExpected(first);
    assert.ok(expectedFirst.length >= 16, 'four windows of four codes and NULL');
    const toRow = (r: Record<string, unknown>): Record<string, OracleValue> => ({ window_start: sqlTime(r.window_start), window_end: sqlTime(r.window_end), error_code: r.error_code as string | null, error_count: r.error_count as number });
    const one = (await rowsOf(probe, expectedFirst.length)).map(toRow);
    assert.deepEqual(canonicalRows(one), canonicalRows(expectedFirst), 'one replica');

    // Two replicas: each consumes its partition queues and re-keys by error_code through the exchange.
    probe.messages.length = 0;
    await sr.up.kubectl('scale', 'srp', processor, '--replicas=2');
    await waitFor('2 replicas ready', async () => {
      const p = await sr.up.getJson<{ status?: { readyReplicas?: number; observedGeneration?: number }; metadata: { generation?: number } }>(`srp/${processor}`);
      return p.status?.readyReplicas === 2 && p.status.observedGeneration === p.metadata.generation;
    }, 120_000, 500);
    const t1 = base + 10 * MINUTE;
    const second = iotEvents(t1, 400, 'two', IOT_CODES);
    await send(second, t1 + 6 * MINUTE);
    const expectedSecond = await iotExpected(second);
    const two = (await rowsOf(probe, expectedSecond.length, 120_000)).map(toRow);
    assert.deepEqual(canonicalRows(two), canonicalRows(expectedSecond), 'two replicas');
  } finally {
    await probe.close();
  }
});

scenario('anomaly detection on RabbitMQ: the `timestamp` metadata column is the AMQP timestamp property (ms or s), HAVING COUNT(*) > 5', async () => {
  const sample = onRabbit('anomaly-detection__streaming-pipeline.yaml');
  const input = sample.exchange('card-authorizations-stream');
  const output = sample.exchange('possible-fraud-stream');
  const processor = 'possible-fraud-detection';
  cleanup.exchanges.push(input, output, `${input}.${processor}.dlq`);
  cleanup.queues.push(`${input}.${processor}`, `${input}.${processor}.dlq`);
  const probe = await rabbitProbe(output);
  try {
    await sr.up.apply(sample.yaml);
    await sr.up.waitReady('srp', processor, 120_000);
    const t0 = Math.floor(Date.now() / 5000) * 5000 - 10 * MINUTE;
    const attempts: { card_number: string; event_time: number }[] = [];
    const burst = (card: string, count: number, windowIndex: number): void => {
      for (let i = 0; i < count; i++) attempts.push({ card_number: card, event_time: t0 + windowIndex * 5000 + i * 400 });
    };
    burst('1234-2121-1221-1211', 6, 0); // > 5: an alert
    burst('1212-1221-1121-1234', 5, 0); // exactly 5: none
    burst('1211-1221-1234-2201', 4, 1); // 4 + 3 in two windows: none
    burst('1211-1221-1234-2201', 3, 2);
    burst('1234-2121-1221-1211', 9, 3); // 9: an alert
    attempts.sort((a, b) => a.event_time - b.event_time);
    // The time is only in the property (event_time is readonly metadata): milliseconds, as amqplib publishes them.
    await publish(input, attempts.map((a) => ({ value: { card_number: a.card_number, card_type: 'visa', card_expiry: '12/30', name: 'holder' }, timestamp: a.event_time })));
    // Whole seconds, as AMQP defines the property and Spring writes it: two minutes on, the windows close.
    await publish(input, [{ value: { card_number: '0', card_type: 'x', card_expiry: 'x', name: 'tick' }, timestamp: Math.floor((t0 + 2 * MINUTE) / 1000) }]);

    const oracle = await SqlOracle.open();
    oracle.load('a', ['card_number', 'event_time'], attempts);
    const expected = oracle.query(`SELECT event_time - event_time % 5000 AS window_start, event_time - event_time % 5000 + 5000 AS window_end, card_number, COUNT(*) AS authorization_attempts
      FROM a GROUP BY 1, 2, 3 HAVING COUNT(*) > 5`);
    oracle.close();
    assert.equal(expected.length, 2);
    const rows = await rowsOf(probe, expected.length);
    const got = rows.map((r) => ({ window_start: sqlTime(r.window_start), window_end: sqlTime(r.window_end), card_number: r.card_number as string, authorization_attempts: r.authorization_attempts as number }));
    assert.deepEqual(canonicalRows(got), canonicalRows(expected));
  } finally {
    await probe.close();
  }
});
