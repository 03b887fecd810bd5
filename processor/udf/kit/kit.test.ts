import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../test/support/ports';
import { UdfClient, UdfError } from '../client';
import { WindowOperator } from '../../window/operator';
import { decodeWindowReply, encodeWindowRequest } from '../../window/encoding';
import { serveAggregator, serveMapper, serveMessages, type Json, type RunningUdf } from './index';

const running: RunningUdf[] = [];
const clients: UdfClient[] = [];

after(async () => {
  for (const client of clients) client.close();
  await Promise.all(running.map((udf) => udf.close()));
});

function client(port: number, maxAttempts = 3): UdfClient {
  const created = new UdfClient({ address: `127.0.0.1:${port}`, maxAttempts, initialBackoffMs: 20, maxBackoffMs: 200, timeoutMs: 2000 });
  clients.push(created);
  return created;
}

test('mapper: JSON in, JSON out, headers kept', async () => {
  const udf = await serveMapper((headers, user) => {
    const record = user as { fullName: string };
    return { name: record.fullName.toUpperCase(), from: headers.source };
  }, { port: 0 });
  running.push(udf);
  const reply = await client(udf.port).requestReply({
    payload: Buffer.from('{"fullName":"Ada"}'),
    headers: { contentType: 'application/json', source: 'test' },
  });
  assert.deepEqual(JSON.parse(reply.payload.toString()), { name: 'ADA', from: 'test' });
  assert.deepEqual(reply.headers, { contentType: 'application/json', source: 'test' });
});

test('aggregator: a released window in, per-team counts out, as messages with window headers', async () => {
  const udf = await serveAggregator<number>({
    aggregate: (_headers, user, results) => {
      const team = (user as { team: string }).team;
      results.set(team, (results.get(team) ?? 0) + 1);
    },
    release: (results): Json[] => [...results].map(([team, count]) => ({ team, count })),
  }, { port: 0 });
  running.push(udf);
  const windows = new WindowOperator<number>({
    type: 'TUMBLING', sizeMs: 5000, slideMs: 5000, gapMs: 0, allowedLatenessMs: 0, lateEventMode: 'DROP', idleTimeoutMs: undefined, maxState: 100,
  });
  ['red', 'blue', 'red'].forEach((team, i) =>
    windows.add({ timestamp: 1000 + i, payload: Buffer.from(JSON.stringify({ team })), headers: { contentType: 'application/json' }, token: i }, 0),
  );
  const [release] = windows.advance(5000);
  const udfClient = client(udf.port);
  const reply = await udfClient.requestReply(encodeWindowRequest(release));
  assert.equal(reply.headers.contentType, 'multipart/json');
  const outputs = decodeWindowReply(reply, release, 5000);
  assert.deepEqual(outputs.map((m) => JSON.parse(m.payload.toString())), [{ team: 'red', count: 2 }, { team: 'blue', count: 1 }]);
  assert.deepEqual(outputs[0].headers, {
    windowStartTime: '0',
    windowEndTime: '5000',
    partial: 'false',
    contentType: 'application/json',
    eventtime: '5000',
    watermark: '5000',
  });
  await assert.rejects(
    udfClient.requestReply({ payload: Buffer.from('{}'), headers: { contentType: 'application/json' } }),
    (error: unknown) => error instanceof UdfError && error.code === 'INVALID_ARGUMENT' && /accepts contentType multipart\/json/.test(error.message),
  );
});

test('the UDF dies and comes back: the client recovers on the same address', async () => {
  const handler = (message: { payload: Buffer; headers: Record<string, string> }) => ({ payload: Buffer.from(`echo:${message.payload}`), headers: {} });
  const first = await serveMessages(handler, { port: 0 });
  const port = first.port;
  const udf = client(port, 2);
  assert.equal((await udf.requestReply({ payload: Buffer.from('1'), headers: {} })).payload.toString(), 'echo:1');
  await first.close();
  await assert.rejects(udf.requestReply({ payload: Buffer.from('2'), headers: {} }), (error: unknown) => error instanceof UdfError && error.code === 'UNAVAILABLE');
  assert.equal(udf.status().state, 'unreachable');
  const second = await serveMessages(handler, { port });
  running.push(second);
  let reply = '';
  await waitFor('the client to reach the restarted UDF', async () => {
    reply = (await udf.requestReply({ payload: Buffer.from('3'), headers: {} })).payload.toString();
    return true;
  }, 15_000, 100);
  assert.equal(reply, 'echo:3');
  assert.equal(udf.status().state, 'reachable');
  assert.equal(udf.status().consecutiveFailures, 0);
});
