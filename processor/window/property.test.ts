// Invariants over random event streams, for every window type, late mode and storage mode: each token comes back
// exactly once (in a release, or refused/side-channelled/dropped at add), and the state drains to zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowOperator, type WindowAggregator } from './operator';
import type { LateEventMode, WindowSettings, WindowType } from './settings';

const counter: WindowAggregator<number, number> = { create: () => 0, add: (n) => n + 1, merge: (a, b) => a + b };

test('every token is returned exactly once and state drains, across types, modes and storage', () => {
  let seed = 3;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const types: WindowType[] = ['TUMBLING', 'SLIDING', 'SESSION'];
  const modes: LateEventMode[] = ['DROP', 'UPSERT', 'SIDE_CHANNEL'];
  for (const type of types) {
    for (const mode of modes) {
      for (const aggregate of [false, true]) {
        for (const lateness of [0, 700]) {
          const settings: WindowSettings = {
            type, sizeMs: 1000, slideMs: type === 'SLIDING' ? 250 : 1000, gapMs: 300, allowedLatenessMs: lateness,
            lateEventMode: mode, idleTimeoutMs: 50, maxState: 60,
          };
          const op = new WindowOperator<number, number>(settings, aggregate ? { aggregator: counter } : {});
          const seen = new Map<number, number>();
          const count = (token: number): void => void seen.set(token, (seen.get(token) ?? 0) + 1);
          let clock = 0;
          let watermark = 0;
          let counted = 0;
          const take = (releases: ReturnType<typeof op.advance>): void => {
            for (const release of releases) {
              release.tokens.forEach(count);
              counted += release.tokens.length;
              assert.ok(release.count >= release.tokens.length || type === 'SLIDING');
            }
          };
          for (let token = 0; token < 400; token++) {
            clock += Math.floor(random() * 5);
            const timestamp = watermark + Math.floor(random() * 1500) - 600;
            const result = op.add({ timestamp, key: `k${Math.floor(random() * 4)}`, payload: Buffer.alloc(0), headers: {}, token }, clock);
            if (result.action !== 'ADDED' && result.action !== 'UPDATED') count(token);
            if (random() < 0.2) {
              watermark += Math.floor(random() * 400);
              take(op.advance(watermark));
            }
            if (random() < 0.05) take(op.releaseIdle(clock + 60));
            assert.equal(op.openWindows, op.describe(clock, 0).openWindows, `${type}/${mode}: open window count`);
            assert.ok(op.bufferedEvents >= 0 && op.bufferedEvents <= settings.maxState, `${type}/${mode}: buffered ${op.bufferedEvents}`);
          }
          take(op.advance(Number.MAX_SAFE_INTEGER));
          const label = `${type}/${mode}/${aggregate ? 'aggregate' : 'buffer'}/lateness ${lateness}`;
          assert.equal(seen.size, 400, `${label}: every token accounted for`);
          for (const [token, times] of seen) assert.equal(times, 1, `${label}: token ${token} returned ${times} times`);
          assert.equal(op.bufferedEvents, 0, `${label}: drained`);
          assert.equal(op.openWindows, 0, `${label}: no window left`);
          assert.ok(counted > 0, `${label}: some windows released`);
        }
      }
    }
  }
});
