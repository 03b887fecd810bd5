// The development registry's REST contract, exercised by the client library the processor and `sr generate` use
// (@kafkajs/confluent-schema-registry) and by plain HTTP where the library has no call (errors, deletes, config),
// then persistence: `sr schema-registry` as a real process, stopped and started again on the same directory.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { TestSchemaRegistry } from '../../test/support/schema-registry';
import { tempDir } from '../../test/support/tmp';

const SR = resolve(__dirname, '..', 'sr.js');
const CT = 'application/vnd.schemaregistry.v1+json';

const song = (extra: object[] = []): string => JSON.stringify({
  type: 'record', name: 'Song', namespace: 'sr.test',
  fields: [{ name: 'song_id', type: 'long' }, { name: 'name', type: 'string', doc: '#{rock_band.name}' }, ...extra],
});

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown; type: string | null }> {
  const res = await fetch(`${base}${path}`, {
    method, headers: { 'content-type': CT },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, type: res.headers.get('content-type') };
}

describe('REST contract', () => {
  let registry: TestSchemaRegistry;
  let client: SchemaRegistry;
  before(async () => {
    registry = await TestSchemaRegistry.start();
    client = new SchemaRegistry({ host: registry.url });
  });
  after(() => registry.stop());

  it('registers, returns the same id for the same schema, and serves it by id, latest and version', async () => {
    const { id } = await client.register({ type: SchemaType.AVRO, schema: song() }, { subject: 'songs-value' });
    // The same schema written with other whitespace and key order is the same schema.
    const reordered = `{ "fields": [{"type": "long", "name": "song_id"}, {"doc": "#{rock_band.name}", "type": "string", "name": "name"}],
      "namespace": "sr.test", "name": "Song", "type": "record" }`;
    assert.equal((await client.register({ type: SchemaType.AVRO, schema: reordered }, { subject: 'songs-value' })).id, id);
    // Another subject with the same schema gets the same id, and its own version 1.
    assert.equal((await client.register({ type: SchemaType.AVRO, schema: song() }, { subject: 'other-value' })).id, id);

    assert.deepEqual(await client.getSchema(id), await client.getSchema(id));
    const decoded = await client.decode(await client.encode(id, { song_id: 7, name: 'x' }));
    assert.deepEqual({ ...(decoded as object) }, { song_id: 7, name: 'x' });
    assert.equal(await client.getLatestSchemaId('songs-value'), id);
    assert.equal(await client.getRegistryId('songs-value', 1), id);
    assert.equal(await client.getRegistryIdBySchema('songs-value', { type: SchemaType.AVRO, schema: song() }), id);

    const latest = await call(registry.url, 'GET', '/subjects/songs-value/versions/latest');
    assert.equal(latest.status, 200);
    assert.equal(latest.type, CT);
    assert.deepEqual(latest.body, { subject: 'songs-value', version: 1, id, schema: JSON.stringify(JSON.parse(song())) });
    assert.deepEqual((await call(registry.url, 'GET', `/schemas/ids/${id}`)).body, { schema: JSON.stringify(JSON.parse(song())) });
    assert.deepEqual((await call(registry.url, 'GET', '/subjects')).body, ['other-value', 'songs-value']);
    assert.deepEqual((await call(registry.url, 'GET', '/subjects/songs-value/versions')).body, [1]);
    assert.deepEqual((await call(registry.url, 'POST', '/subjects/songs-value', { schema: song() })).body, { subject: 'songs-value', version: 1, id, schema: JSON.stringify(JSON.parse(song())) });
  });

  it('enforces BACKWARD compatibility for Avro: a field without default is refused (409), one with a default is a new version', async () => {
    await client.register({ type: SchemaType.AVRO, schema: song() }, { subject: 'compat-value' });
    // The library itself set the subject's level on first registration, as it does against Confluent's registry.
    assert.deepEqual((await call(registry.url, 'GET', '/config/compat-value')).body, { compatibilityLevel: 'BACKWARD' });
    await assert.rejects(
      client.register({ type: SchemaType.AVRO, schema: song([{ name: 'genre', type: 'string' }]) }, { subject: 'compat-value' }),
      (err: Error) => /incompatible/.test(err.message) && /genre/.test(err.message),
    );
    const raw = await call(registry.url, 'POST', '/subjects/compat-value/versions', { schema: song([{ name: 'genre', type: 'string' }]) });
    assert.equal(raw.status, 409);
    assert.equal((raw.body as { error_code: number }).error_code, 409);
    const check = await call(registry.url, 'POST', '/compatibility/subjects/compat-value/versions/latest', { schema: song([{ name: 'genre', type: 'string' }]) });
    assert.deepEqual(check.body, { is_compatible: false });

    const { id: v2 } = await client.register({ type: SchemaType.AVRO, schema: song([{ name: 'genre', type: 'string', default: 'rock' }]) }, { subject: 'compat-value' });
    assert.deepEqual((await call(registry.url, 'GET', '/subjects/compat-value/versions')).body, [1, 2]);
    assert.equal(await client.getLatestSchemaId('compat-value'), v2);

    // NONE accepts anything; the global level is separate from the subject's.
    assert.deepEqual((await call(registry.url, 'PUT', '/config/compat-value', { compatibility: 'NONE' })).body, { compatibility: 'NONE' });
    assert.equal((await call(registry.url, 'POST', '/subjects/compat-value/versions', { schema: JSON.stringify({ type: 'record', name: 'Other', fields: [{ name: 'x', type: 'int' }] }) })).status, 200);
    assert.deepEqual((await call(registry.url, 'GET', '/config')).body, { compatibilityLevel: 'BACKWARD' });
    assert.equal((await call(registry.url, 'PUT', '/config', { compatibility: 'SIDEWAYS' })).status, 422);
    assert.deepEqual((await call(registry.url, 'PUT', '/config', { compatibility: 'full' })).body, { compatibility: 'FULL' });
    assert.deepEqual((await call(registry.url, 'GET', '/config')).body, { compatibilityLevel: 'FULL' });
    await call(registry.url, 'PUT', '/config', { compatibility: 'BACKWARD' });
  });

  it("answers errors with Confluent's codes", async () => {
    const code = async (method: string, path: string, body?: unknown): Promise<[number, number]> => {
      const r = await call(registry.url, method, path, body);
      const b = r.body as { error_code: number; message: string };
      assert.equal(typeof b.message, 'string');
      return [r.status, b.error_code];
    };
    assert.deepEqual(await code('GET', '/subjects/nope/versions'), [404, 40401]);
    assert.deepEqual(await code('GET', '/subjects/nope/versions/latest'), [404, 40401]);
    assert.deepEqual(await code('GET', '/subjects/songs-value/versions/9'), [404, 40402]);
    assert.deepEqual(await code('GET', '/subjects/songs-value/versions/zero'), [422, 42202]);
    assert.deepEqual(await code('GET', '/schemas/ids/9999'), [404, 40403]);
    assert.deepEqual(await code('POST', '/subjects/songs-value', { schema: JSON.stringify({ type: 'record', name: 'Nope', fields: [] }) }), [404, 40403]);
    assert.deepEqual(await code('POST', '/subjects/nope', { schema: song() }), [404, 40401]);
    assert.deepEqual(await code('POST', '/subjects/bad-value/versions', { schema: '{"type":"recordx"}' }), [422, 42201]);
    assert.deepEqual(await code('POST', '/subjects/bad-value/versions', { schema: 'not json' }), [422, 42201]);
    assert.deepEqual(await code('GET', '/config/nope'), [404, 40408]);
    // The client library surfaces them as errors with the registry's message.
    await assert.rejects(client.getLatestSchemaId('nope'), /not found/);
  });

  it('deletes versions and subjects (soft, then permanent); ids stay readable', async () => {
    const { id } = await client.register({ type: SchemaType.AVRO, schema: song() }, { subject: 'gone-value' });
    await client.register({ type: SchemaType.AVRO, schema: song([{ name: 'g', type: 'string', default: '' }]) }, { subject: 'gone-value' });
    assert.deepEqual((await call(registry.url, 'DELETE', '/subjects/gone-value/versions/latest')).body, 2);
    assert.deepEqual((await call(registry.url, 'GET', '/subjects/gone-value/versions')).body, [1]);
    assert.deepEqual((await call(registry.url, 'GET', '/subjects/gone-value/versions?deleted=true')).body, [1, 2]);
    assert.equal((await call(registry.url, 'DELETE', '/subjects/gone-value/versions/1?permanent=true')).status, 404); // 40407: soft delete first
    assert.deepEqual((await call(registry.url, 'DELETE', '/subjects/gone-value')).body, [1]);
    assert.equal(((await call(registry.url, 'GET', '/subjects/gone-value/versions')).body as { error_code: number }).error_code, 40401);
    assert.ok(!((await call(registry.url, 'GET', '/subjects')).body as string[]).includes('gone-value'));
    assert.ok(((await call(registry.url, 'GET', '/subjects?deleted=true')).body as string[]).includes('gone-value'));
    assert.equal(((await call(registry.url, 'DELETE', '/subjects/gone-value')).body as { error_code: number }).error_code, 40404);
    assert.deepEqual((await call(registry.url, 'DELETE', '/subjects/gone-value?permanent=true')).body, [1, 2]);
    assert.equal(((await call(registry.url, 'GET', '/subjects?deleted=true')).body as string[]).includes('gone-value'), false);
    assert.equal((await call(registry.url, 'GET', `/schemas/ids/${id}`)).status, 200);
  });

  it('stores JSON Schema and Protobuf without interpreting them, and says so in schemaType', async () => {
    const { id } = await client.register({ type: SchemaType.JSON, schema: JSON.stringify({ type: 'object' }) }, { subject: 'json-value' });
    assert.deepEqual((await call(registry.url, 'GET', `/schemas/ids/${id}`)).body, { schema: '{"type":"object"}', schemaType: 'JSON' });
    assert.deepEqual((await call(registry.url, 'GET', '/schemas/types')).body, ['AVRO', 'JSON', 'PROTOBUF']);
  });

  it('records requests for tests, and goes down and up on the same port keeping its schemas', async () => {
    assert.ok(registry.requests.includes('POST /subjects/songs-value/versions'));
    const { port } = registry;
    await registry.stop();
    await assert.rejects(fetch(`${registry.url}/subjects`));
    await registry.start();
    assert.equal(registry.port, port);
    assert.ok(((await call(registry.url, 'GET', '/subjects')).body as string[]).includes('songs-value'));
  });
});

describe('sr schema-registry (a process) keeps its state across a restart', () => {
  const dir = tempDir('sr-registry-');
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    dir.remove();
  });

  const startRegistry = async (port = 0): Promise<{ url: string; child: ChildProcess }> => {
    const child = spawn(process.execPath, [SR, 'schema-registry', '--port', String(port), '--dir', dir.path], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const line = await new Promise<string>((res, rej) => {
      child.once('exit', (code) => rej(new Error(`sr schema-registry exited (${code})`)));
      createInterface({ input: child.stdout! }).once('line', res);
    });
    const url = /listening on (\S+)/.exec(line)?.[1];
    assert.ok(url, line);
    return { url, child };
  };
  const stop = (child: ChildProcess): Promise<void> => new Promise((res) => { child.once('exit', () => res()); child.kill('SIGTERM'); });

  it('registers, is stopped, starts again: same subjects, versions, ids and config', async () => {
    const first = await startRegistry();
    // It says which process answers (sr up checks that the registry on the port is the one it started).
    assert.equal((await fetch(`${first.url}/config`)).headers.get('x-sr-instance'), String(first.child.pid));
    const client = new SchemaRegistry({ host: first.url });
    const { id: a } = await client.register({ type: SchemaType.AVRO, schema: song() }, { subject: 'songs-value' });
    const { id: b } = await client.register({ type: SchemaType.AVRO, schema: song([{ name: 'genre', type: 'string', default: '' }]) }, { subject: 'songs-value' });
    await call(first.url, 'PUT', '/config', { compatibility: 'FORWARD' });
    await stop(first.child);
    // Written atomically: a complete JSON file, no temporary file left behind.
    const state = JSON.parse(readFileSync(join(dir.path, 'schema-registry.json'), 'utf8')) as { nextId: number };
    assert.equal(state.nextId, 3);
    assert.equal(existsSync(join(dir.path, `schema-registry.json.${first.child.pid}.tmp`)), false);

    const port = Number(new URL(first.url).port);
    const second = await startRegistry(port);
    assert.equal(second.url, first.url);
    const again = new SchemaRegistry({ host: second.url });
    assert.equal(await again.getLatestSchemaId('songs-value'), b);
    assert.deepEqual({ ...(await again.decode(await again.encode(a, { song_id: 1, name: 'n' })) as object) }, { song_id: 1, name: 'n' });
    assert.deepEqual((await call(second.url, 'GET', '/config')).body, { compatibilityLevel: 'FORWARD' });
    // A new schema gets a new id, not one already given out.
    const { id: c } = await again.register({ type: SchemaType.AVRO, schema: JSON.stringify({ type: 'record', name: 'New', fields: [] }) }, { subject: 'new-value' });
    assert.equal(c, 3);
    await stop(second.child);
  });
});
