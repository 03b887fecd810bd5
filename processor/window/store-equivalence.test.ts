// The window operator gives the same releases — bounds, tokens, flags and every event's content, in order — whether
// its events live on the heap (MEMORY) or in RocksDB, for every window type and late-event mode, including session
// merges and UPSERT re-emissions; and ROCKSDB ends with nothing left on disk once every release was read.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RocksDbStateStore } from '../state/rocksdb';
import { readReleaseEvents, WindowOperator, type WindowRelease } from './operator';
import type { LateEventMode, WindowSettings, WindowType } from './settings';

const dir = mkdtempSync(join(tmpdir(), 'sr-window-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function describeReleases(releases: WindowRelease<number>[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const r of releases) {
    const events = await readReleaseEvents(r);
    out.push({
      start: r.start, end: r.end, key: r.key, count: r.count, tokens: r.tokens, partial: r.partial, update: r.update,
      events: events.map((e) => [e.timestamp, e.key, e.headers.n, e.payload.toString(), e.token]),
    });
  }
  return out;
}

test('MEMORY and ROCKSDB stores give identical releases across window types and late modes', async () => {
  const store = new RocksDbStateStore({ dir });
  await store.open();
  const types: WindowType[] = ['TUMBLING', 'SLIDING', 'SESSION'];
  const modes: LateEventMode[] = ['DROP', 'UPSERT', 'SIDE_CHANNEL'];
  let releasesCompared = 0;
  for (const type of types) {
    for (const mode of modes) {
      let seed = 11;
      const random = (): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed / 2 ** 32;
      };
      const settings: WindowSettings = {
        type, sizeMs: 1000, slideMs: type === 'SLIDING' ? 250 : 1000, gapMs: 300, allowedLatenessMs: 500,
        lateEventMode: mode, idleTimeoutMs: 40, maxState: 10_000,
      };
      const memory = new WindowOperator<number>(settings);
      const rocks = new WindowOperator<number>(settings, { store });
      const both = async (step: (op: WindowOperator<number>) => WindowRelease<number>[], label: string): Promise<void> => {
        const expected = await describeReleases(step(memory));
        const actual = await describeReleases(step(rocks));
        assert.deepEqual(actual, expected, label);
        releasesCompared += expected.length;
      };
      let clock = 0;
      let watermark = 0;
      for (let token = 0; token < 600; token++) {
        clock += Math.floor(random() * 4);
        const timestamp = watermark + Math.floor(random() * 1400) - 500;
        const key = `k${Math.floor(random() * 3)}`;
        const make = () => ({ timestamp, key, payload: Buffer.from(`{"t":${token}}`), headers: { n: String(token) }, token });
        assert.deepEqual(rocks.add(make(), clock), memory.add(make(), clock), `${type}/${mode}: add ${token}`);
        if (random() < 0.15) {
          watermark += Math.floor(random() * 300);
          await both((op) => op.advance(watermark), `${type}/${mode}: advance to ${watermark}`);
        }
        if (random() < 0.03) await both((op) => op.releaseIdle(clock + 50), `${type}/${mode}: idle release`);
      }
      await both((op) => op.advance(Number.MAX_SAFE_INTEGER), `${type}/${mode}: final`);
      assert.equal(rocks.bufferedEvents, 0);
      assert.equal(store.status().storedEvents, 0, `${type}/${mode}: nothing left on disk`);
    }
  }
  assert.ok(releasesCompared > 500, `compared ${releasesCompared} releases`);
  await store.close();
});
