// The watch cache's window of recent events against a real etcd: after every write, a watch can resume from exactly
// the oldest revision still in the window (its backlog is every later event, in order) and not from one before it
// (410), also across the points where the window is copied out (every quarter window, not every write); compaction
// and a relist keep the same rule.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdHandle } from '../../test/support/etcd';
import { EtcdStorage } from './etcd';
import type { StorageEvent } from './interface';
import { TooOldRevisionError, WatchCache, type CacheListener } from './watch-cache';

let etcd: EtcdHandle;
let storage: EtcdStorage;

before(async () => {
  etcd = await startEtcd();
  storage = new EtcdStorage({ endpoints: [etcd.endpoint], callTimeoutMs: 3000 });
});

after(async () => {
  await storage?.close();
  await etcd?.destroy();
});

const ignore: CacheListener = { onEvents: () => undefined, onExpired: () => undefined };

function backlogRevisions(cache: WatchCache, prefix: string, afterRevision: number): number[] {
  const subscription = cache.subscribe(prefix, afterRevision, ignore);
  subscription.unsubscribe();
  return subscription.backlog.map((e: StorageEvent) => e.revision);
}

test('after every write the window holds exactly the last windowSize events, resumable from its oldest revision', async () => {
  const prefix = `/window-${process.pid}/`;
  const windowSize = 8;
  const cache = new WatchCache(storage, prefix, { windowSize });
  await cache.start();
  try {
    const startRevision = cache.revision;
    const revisions: number[] = [];
    // 4 windows' worth: the window fills, then is copied out several times (every windowSize / 4 = 2 writes).
    for (let i = 0; i < 4 * windowSize; i++) {
      const stored = await storage.create(`${prefix}obj-${i}`, { n: i });
      revisions.push(stored.revision);
      assert.ok(await cache.waitForRevision(stored.revision, 5000), `cache reached revision ${stored.revision}`);
      const kept = revisions.slice(-windowSize);
      const oldest = revisions.length > windowSize ? revisions[revisions.length - windowSize - 1] : startRevision;
      assert.equal(cache.oldestResumableRevision, oldest, `after write ${i}`);
      assert.deepEqual(backlogRevisions(cache, prefix, oldest), kept, `backlog after write ${i}`);
      if (kept.length >= 3) assert.deepEqual(backlogRevisions(cache, prefix, kept[kept.length - 3]), kept.slice(-2));
      if (oldest > 0) assert.throws(() => cache.subscribe(prefix, oldest - 1, ignore), TooOldRevisionError);
    }

    // Compaction moves the oldest resumable revision forward; the rest of the window stays resumable.
    const compactTo = revisions[revisions.length - 3];
    cache.compacted(compactTo);
    assert.equal(cache.oldestResumableRevision, compactTo);
    assert.deepEqual(backlogRevisions(cache, prefix, compactTo), revisions.slice(-2));
    assert.throws(() => cache.subscribe(prefix, compactTo - 1, ignore), TooOldRevisionError);

    // Writes after the compaction fill the window again from there.
    for (let i = 0; i < windowSize; i++) {
      const stored = await storage.create(`${prefix}after-${i}`, { n: i });
      revisions.push(stored.revision);
      assert.ok(await cache.waitForRevision(stored.revision, 5000));
    }
    const oldest = revisions[revisions.length - windowSize - 1];
    assert.equal(cache.oldestResumableRevision, oldest);
    assert.deepEqual(backlogRevisions(cache, prefix, oldest), revisions.slice(-windowSize));
  } finally {
    cache.stop();
  }
});
