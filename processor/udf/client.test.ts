import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { freePort, waitFor } from '../../test/support/ports';
import { UdfClient, UdfError } from './client';
import { messagingService, type GrpcMessage } from './proto';

const servers: grpc.Server[] = [];
const clients: UdfClient[] = [];

after(() => {
  for (const client of clients) client.close();
  for (const server of servers) server.forceShutdown();
});

/** A raw grpc-js MessagingService whose requestReply is `handler`. */
async function rawServer(handler: grpc.handleUnaryCall<GrpcMessage, GrpcMessage>): Promise<string> {
  const server = new grpc.Server();
  const unimplemented = (): void => undefined;
  server.addService(messagingService().service, {
    requestReply: handler,
    biStream: unimplemented,
    clientStream: unimplemented,
    serverStream: unimplemented,
  });
  servers.push(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return `127.0.0.1:${port}`;
}

function client(address: string, options: { timeoutMs?: number; maxAttempts?: number } = {}): UdfClient {
  const created = new UdfClient({ address, initialBackoffMs: 20, maxBackoffMs: 100, ...options });
  clients.push(created);
  return created;
}

test('requestReply carries payload bytes and string headers both ways', async () => {
  const address = await rawServer((call, callback) => {
    callback(null, {
      payload: Buffer.from(call.request.payload.toString().toUpperCase()),
      headers: { ...call.request.headers, seen: 'yes' },
    });
  });
  const udf = client(address);
  assert.equal(udf.status().state, 'unknown');
  const reply = await udf.requestReply({ payload: Buffer.from('hello'), headers: { contentType: 'text/plain', eventtime: '42' } });
  assert.equal(reply.payload.toString(), 'HELLO');
  assert.deepEqual(reply.headers, { contentType: 'text/plain', eventtime: '42', seen: 'yes' });
  const status = udf.status();
  assert.equal(status.state, 'reachable');
  assert.equal(status.calls, 1);
  assert.equal(status.retries, 0);
  assert.ok((status.lastLatencyMs ?? -1) >= 0);
});

test('errors are retried with backoff up to maxAttempts', async () => {
  let calls = 0;
  const address = await rawServer((_call, callback) => {
    calls++;
    if (calls < 3) callback({ code: grpc.status.INTERNAL, details: `boom ${calls}` }, null);
    else callback(null, { payload: Buffer.from('ok'), headers: {} });
  });
  const udf = client(address, { maxAttempts: 3 });
  assert.equal((await udf.requestReply({ payload: Buffer.from('x'), headers: {} })).payload.toString(), 'ok');
  assert.equal(calls, 3);
  assert.equal(udf.status().retries, 2);
  calls = -10;
  await assert.rejects(udf.requestReply({ payload: Buffer.from('x'), headers: {} }), (error: unknown) => {
    assert.ok(error instanceof UdfError);
    assert.equal(error.code, 'INTERNAL');
    assert.equal(error.attempts, 3);
    assert.match(error.message, /failed after 3 attempt\(s\): INTERNAL: boom -7/);
    return true;
  });
  const status = udf.status();
  assert.equal(status.state, 'reachable', 'a function error is not a connectivity problem');
  assert.equal(status.failedCalls, 1);
  assert.equal(status.lastError, 'INTERNAL: boom -7');
});

test('deadline (srp.udf.timeout) per attempt; a UDF that does not answer is unreachable', async () => {
  const address = await rawServer((_call, callback) => {
    setTimeout(() => callback(null, { payload: Buffer.from('late'), headers: {} }), 1000);
  });
  const udf = client(address, { timeoutMs: 100, maxAttempts: 2 });
  const started = Date.now();
  await assert.rejects(udf.requestReply({ payload: Buffer.from('x'), headers: {} }), (error: unknown) =>
    error instanceof UdfError && error.code === 'DEADLINE_EXCEEDED' && error.attempts === 2,
  );
  assert.ok(Date.now() - started < 900, 'did not wait for the slow reply');
  assert.equal(udf.status().state, 'unreachable');
  assert.match(udf.status().lastError ?? '', /^DEADLINE_EXCEEDED/);
});

test('nothing listening: UNAVAILABLE, unreachable with the last error', async () => {
  const udf = client(`127.0.0.1:${await freePort()}`, { maxAttempts: 2 });
  await assert.rejects(udf.requestReply({ payload: Buffer.from('x'), headers: {} }), (error: unknown) =>
    error instanceof UdfError && error.code === 'UNAVAILABLE',
  );
  const status = udf.status();
  assert.equal(status.state, 'unreachable');
  assert.equal(status.consecutiveFailures, 2);
  await waitFor('a closed client to refuse', async () => {
    udf.close();
    await assert.rejects(udf.requestReply({ payload: Buffer.alloc(0), headers: {} }), /closed/);
    return true;
  });
});
