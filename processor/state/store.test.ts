// One contract, both stores: MEMORY and ROCKSDB (a real RocksDB database in a temporary directory) must give back
// exactly what was pushed, in order, honour snapshots, merges and disposal; then what only ROCKSDB promises: it
// starts empty after a restart, refuses a directory another store holds, and keeps event bodies off the heap.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import rocksdb from 'rocksdb';
import type { TimedEvent } from '../message';
import { MemoryStateStore } from './memory';
import { ROCKSDB_DIR_NAME, RocksDbStateStore } from './rocksdb';
import type { WindowStateStore } from './types';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sr-state-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function event(i: number, key?: string): TimedEvent<number> {
  const e: TimedEvent<number> = {
    timestamp: 1_700_000_000_000 + i * 0.5,
    payload: Buffer.from(JSON.stringify({ i, text: 'grüße ✓' })),
    headers: { contentType: 'application/json', n: String(i), 'x-ünïcode': '→' },
    token: i,
  };
  if (key !== undefined) e.key = key;
  return e;
}

/** What a store must preserve (the parsed `value` is not part of the contract). */
function plain(events: ReadonlyArray<TimedEvent<number>>): unknown[] {
  return events.map((e) => ({ timestamp: e.timestamp, key: e.key, headers: e.headers, payload: e.payload.toString('base64'), token: e.token }));
}

const kinds: Array<[string, () => Promise<WindowStateStore>]> = [
  ['MEMORY', async () => new MemoryStateStore()],
  ['ROCKSDB', async () => {
    const store = new RocksDbStateStore({ dir: tempDir() });
    await store.open();
    return store;
  }],
];

for (const [kind, make] of kinds) {
  describe(`${kind} state store contract`, () => {
    test('gives back every pushed event, in order, with key, headers, binary payload and token', async () => {
      const store = await make();
      const buffer = store.buffer<number>();
      const pushed = [event(0), event(1, 'red'), event(2, ''), { ...event(3), payload: Buffer.from([0, 255, 10, 13]) }, { ...event(4), payload: Buffer.alloc(0), headers: {} }];
      for (const e of pushed) buffer.push(e);
      assert.equal(buffer.length, 5);
      const snapshot = buffer.snapshot();
      assert.equal(snapshot.length, 5);
      assert.deepEqual(plain(await snapshot.read()), plain(pushed));
      buffer.dispose();
      await store.close();
    });

    test('a snapshot is frozen: later pushes and disposal do not change it', async () => {
      const store = await make();
      const buffer = store.buffer<number>();
      buffer.push(event(0));
      buffer.push(event(1));
      const first = buffer.snapshot();
      buffer.push(event(2));
      const second = buffer.snapshot();
      buffer.dispose();
      assert.deepEqual(plain(await second.read()), plain([event(0), event(1), event(2)]));
      assert.deepEqual(plain(await first.read()), plain([event(0), event(1)]));
      assert.equal(store.status().storedEvents, 0, 'freed once the window is gone and every snapshot was read');
      await store.close();
    });

    test('take: the events of a window that is done, in one step', async () => {
      const store = await make();
      const buffer = store.buffer<number>();
      buffer.push(event(0, 'k'));
      buffer.push(event(1, 'k'));
      const taken = buffer.take();
      assert.equal(buffer.length, 0);
      assert.equal(taken.length, 2);
      assert.deepEqual(plain(await taken.read()), plain([event(0, 'k'), event(1, 'k')]));
      assert.equal(store.status().storedEvents, 0);
      await store.close();
    });

    test('absorb: this buffer\'s events, then the other\'s, then new pushes; the other ends empty', async () => {
      const store = await make();
      const a = store.buffer<number>();
      const b = store.buffer<number>();
      a.push(event(1));
      b.push(event(2));
      b.push(event(3));
      a.push(event(4));
      a.absorb(b);
      assert.equal(b.length, 0);
      b.dispose();
      a.push(event(5));
      assert.equal(a.length, 5);
      assert.deepEqual(plain(await a.snapshot().read()).map((e) => (e as { token: number }).token), [1, 4, 2, 3, 5]);
      a.dispose();
      assert.equal(store.status().storedEvents, 0);
      await store.close();
    });

    test('many windows read at once each get their own events; discard frees without reading', async () => {
      const store = await make();
      const buffers = Array.from({ length: 300 }, () => store.buffer<number>());
      let token = 0;
      for (let round = 0; round < 7; round++) for (const b of buffers) b.push(event(token++, `k${round}`));
      const snapshots = buffers.map((b) => b.snapshot());
      for (const b of buffers) b.dispose();
      const reads = await Promise.all(snapshots.slice(0, 200).map((s) => s.read()));
      reads.forEach((events, w) => assert.deepEqual(events.map((e) => e.token), Array.from({ length: 7 }, (_, r) => r * 300 + w)));
      for (const s of snapshots.slice(200)) s.discard();
      assert.equal(store.status().storedEvents, 0);
      await store.close();
    });
  });
}

describe('ROCKSDB only', () => {
  async function keysIn(location: string): Promise<number> {
    const db = rocksdb(location);
    await new Promise<void>((resolve, reject) => db.open((err) => (err ? reject(err) : resolve())));
    const iterator = db.iterator({ keys: true, values: false });
    let count = 0;
    for (;;) {
      const key = await new Promise<unknown>((resolve, reject) => iterator.next((err, k) => (err ? reject(err) : resolve(k))));
      if (key === undefined) break;
      count++;
    }
    await new Promise<void>((resolve) => iterator.end(() => resolve()));
    await new Promise<void>((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
    return count;
  }

  test('a restart starts empty: events of the previous run are deleted (the brokers redeliver them)', async () => {
    const dir = tempDir();
    const before = new RocksDbStateStore({ dir });
    await before.open();
    const buffer = before.buffer<number>();
    for (let i = 0; i < 50; i++) buffer.push(event(i));
    await buffer.snapshot().read(); // waits until the writes are in the database; the window stays open
    await before.close();
    assert.equal(await keysIn(join(dir, ROCKSDB_DIR_NAME)), 50, 'the previous run left its open window on disk');

    const afterRestart = new RocksDbStateStore({ dir });
    await afterRestart.open();
    assert.equal(afterRestart.status().storedEvents, 0);
    await afterRestart.close();
    assert.equal(await keysIn(join(dir, ROCKSDB_DIR_NAME)), 0, 'nothing of the previous run is left to count twice');
  });

  test('a directory in use by another store is refused, and its data is left alone', async () => {
    const dir = tempDir();
    const first = new RocksDbStateStore({ dir });
    await first.open();
    const buffer = first.buffer<number>();
    buffer.push(event(1));
    const second = new RocksDbStateStore({ dir });
    await assert.rejects(second.open(), /every replica needs its own state directory/);
    assert.deepEqual((await buffer.snapshot().read()).map((e) => e.token), [1]);
    await first.close();
  });

  test('event bodies leave the heap: 64 MiB of payloads in open windows cost MEMORY the heap, ROCKSDB the disk', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const payloadBytes = 256 * 1024;
    const events = 256;
    const fill = (store: WindowStateStore): ReturnType<WindowStateStore['buffer']> => {
      const buffer = store.buffer<number>();
      for (let i = 0; i < events; i++) {
        // Incompressible, so the bytes on disk are the bytes written.
        const payload = Buffer.allocUnsafe(payloadBytes);
        for (let p = 0; p < payloadBytes; p += 4) payload.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, p);
        buffer.push({ timestamp: i, payload, headers: { contentType: 'application/octet-stream' }, token: i });
      }
      return buffer;
    };
    const external = (): number => {
      gc();
      const usage = process.memoryUsage();
      return usage.arrayBuffers + usage.heapUsed;
    };
    const total = payloadBytes * events;

    const memory = new MemoryStateStore();
    const base = external();
    const held = fill(memory);
    const memoryGrowth = external() - base;
    assert.ok(memoryGrowth > total * 0.9, `MEMORY holds the payloads on the heap: +${memoryGrowth} bytes`);
    held.dispose();

    const dir = tempDir();
    const store = new RocksDbStateStore({ dir, writeBufferSize: 4 * 1024 * 1024 });
    await store.open();
    const rocksBase = external();
    const buffer = fill(store);
    const probe = store.buffer<number>();
    probe.push(event(0));
    await probe.snapshot().read(); // every earlier write is in the database now
    const rocksGrowth = external() - rocksBase;
    assert.ok(rocksGrowth < total * 0.15, `ROCKSDB keeps only tokens on the heap: +${rocksGrowth} bytes for ${total} bytes of payloads`);
    const onDisk = readdirSync(join(dir, ROCKSDB_DIR_NAME)).reduce((sum, f) => sum + statSync(join(dir, ROCKSDB_DIR_NAME, f)).size, 0);
    assert.ok(onDisk > total * 0.9, `the payloads are on disk: ${onDisk} bytes`);
    process.stdout.write(`# ${total} bytes of payloads: MEMORY heap +${memoryGrowth}, ROCKSDB heap +${rocksGrowth}, on disk ${onDisk}\n`);
    const back = await buffer.snapshot().read();
    assert.equal(back.length, events);
    assert.equal(back[17].payload.length, payloadBytes);
    buffer.dispose();
    probe.dispose();
    await store.close();
  });
});
