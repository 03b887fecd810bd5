// Leader election on a coordination.k8s.io/v1 Lease (LeaseLeaderLock) against a FAKE Lease API
// (test/support/controllers-lease-server.ts): no Kubernetes cluster runs on these machines and our API server
// serves only our group. The fake keeps the real server's rules the lock depends on (resourceVersion conflicts,
// AlreadyExists, MicroTime validation) and can cut a client off. Short timings (lease 2 s, renew deadline 1.2 s,
// retry 0.2 s) keep the tests quick; the rules are the same at the defaults (15 s, 10 s, 2 s).
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { LeaseLeaderLock, type LeaseOptions } from './leader';
import { startFakeLeaseServer, type FakeLeaseServer } from '../test/support/controllers-lease-server';
import { waitFor } from '../test/support/ports';

const NAMESPACE = 'sr-system';
const LEASE = 'sr-controllers';
const TIMING = { leaseDurationSeconds: 2, renewDeadlineMs: 1200, retryPeriodMs: 200 } satisfies Partial<LeaseOptions>;

let server: FakeLeaseServer;
before(async () => { server = await startFakeLeaseServer(); });
after(async () => { await server.close(); });

interface Candidate {
  id: string;
  lease: string;
  lock: LeaseLeaderLock;
  acquiredAt?: number;
  lostAt?: number;
}

/** Every candidate of a test, and a watchdog that records any moment where the rules are broken: two candidates
 *  believing they lead, or a candidate believing it leads while the Lease names someone else. */
let candidates: Candidate[] = [];
let violations: string[] = [];
let watchdog: NodeJS.Timeout | undefined;

function check(): void {
  const leaders = candidates.filter((c) => c.lock.isLeader);
  if (leaders.length > 1) violations.push(`${Date.now()}: ${leaders.map((c) => c.id).join(' and ')} lead at once`);
  for (const c of leaders) {
    const holder = server.lease(NAMESPACE, c.lease)?.spec.holderIdentity;
    if (holder !== c.id) violations.push(`${Date.now()}: ${c.id} leads but the Lease names ${String(holder)}`);
  }
}

function candidate(id: string, lease = LEASE): Candidate {
  const c: Candidate = { id, lease, lock: new LeaseLeaderLock(server.kubeConfig(id), { namespace: NAMESPACE, name: lease, identity: id, ...TIMING }, pino({ level: 'silent' })) };
  c.lock.onLost(() => { c.lostAt = Date.now(); check(); });
  candidates.push(c);
  watchdog ??= setInterval(check, 5);
  c.lock.acquire().then(() => { c.acquiredAt = Date.now(); check(); }, () => undefined);
  return c;
}

function leaders(): Candidate[] { return candidates.filter((c) => c.lock.isLeader); }

afterEach(async () => {
  if (watchdog) clearInterval(watchdog);
  watchdog = undefined;
  server.heal(...candidates.map((c) => c.id));
  await Promise.all(candidates.map((c) => c.lock.release()));
  candidates = [];
  violations = [];
});

test('two controllers: one leads, the other takes over after the leader stops renewing, never two at once', async () => {
  const a = candidate('controller-a');
  const b = candidate('controller-b');
  await waitFor('a leader', () => leaders().length === 1, 5000, 10);
  const [leader] = leaders();
  const follower = leader === a ? b : a;
  // While the leader renews, the follower keeps following (well past a lease duration).
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(leaders(), [leader]);
  assert.equal(follower.acquiredAt, undefined);
  const renewals = server.writes.filter((w) => w.lease === `${NAMESPACE}/${LEASE}` && w.token === leader.id && w.method === 'PUT' && w.status === 200);
  assert.ok(renewals.length >= 5, `the leader renewed (${renewals.length} renewals)`);

  // The leader is cut off from the API: its requests hang (a crashed or partitioned leader renews nothing).
  const cutAt = Date.now();
  server.partition(leader.id);
  await waitFor('the follower takes over', () => follower.acquiredAt !== undefined, 10_000, 10);
  assert.ok(leader.lostAt !== undefined, 'the old leader stepped down (onLost)');
  assert.ok(leader.lostAt <= follower.acquiredAt!, `stepped down at +${leader.lostAt - cutAt} ms, before the takeover at +${follower.acquiredAt! - cutAt} ms`);
  assert.ok(leader.lostAt - cutAt <= TIMING.renewDeadlineMs + 300, `stepped down within the renew deadline (+${leader.lostAt - cutAt} ms)`);
  // The follower waited a lease duration after it last saw the Lease change (the last renewal was < 1 retry earlier).
  assert.ok(follower.acquiredAt! - cutAt >= TIMING.leaseDurationSeconds * 1000 - TIMING.retryPeriodMs - 50, `took over at +${follower.acquiredAt! - cutAt} ms`);
  const lease = server.lease(NAMESPACE, LEASE)!;
  assert.equal(lease.spec.holderIdentity, follower.id);
  assert.equal(lease.spec.leaseTransitions, 1);

  // Reconnected, the old leader finds the Lease taken and does not lead again.
  server.heal(leader.id);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(leaders(), [follower]);
  assert.deepEqual(violations, []);
  assert.deepEqual(server.writes.filter((w) => w.status === 400), [], 'every write was valid for the API server (MicroTime)');
});

test('a leader that releases hands over at once, without waiting for the Lease to expire', async () => {
  const a = candidate('controller-a', 'handover');
  await waitFor('a leads', () => a.lock.isLeader, 5000, 10);
  const b = candidate('controller-b', 'handover');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(b.lock.isLeader, false);
  const releasedAt = Date.now();
  await a.lock.release();
  await waitFor('b leads', () => b.lock.isLeader, 5000, 10);
  assert.ok(b.acquiredAt! - releasedAt < TIMING.leaseDurationSeconds * 1000, `took over ${b.acquiredAt! - releasedAt} ms after the release`);
  assert.equal(a.lostAt, undefined, 'a release is not a loss');
  assert.equal(server.lease(NAMESPACE, 'handover')?.spec.holderIdentity, 'controller-b');
});

test('candidates racing for a free Lease: exactly one wins, the others get 409 Conflict and follow', async () => {
  server.seed(NAMESPACE, 'race', { leaseDurationSeconds: 2, leaseTransitions: 4 });
  const ids = ['controller-a', 'controller-b', 'controller-c'];
  // Hold the candidates' first reads, then answer them together: all three see the same resourceVersion.
  server.partition(...ids);
  const race = ids.map((id) => candidate(id, 'race'));
  await waitFor('three reads held', () => ids.every((id) => server.heldRequests(id) === 1), 5000, 10);
  server.heal(...ids);
  await waitFor('a leader', () => leaders().length === 1, 5000, 10);
  await new Promise((r) => setTimeout(r, 1000));
  const [winner] = leaders();
  assert.equal(leaders().length, 1);
  const puts = server.writes.filter((w) => w.lease === `${NAMESPACE}/race` && w.method === 'PUT');
  assert.equal(puts.filter((w) => w.status === 200 && w.token !== winner.id).length, 0, 'no loser wrote the Lease');
  assert.equal(puts.filter((w) => w.status === 409).length, 2, `the two others were refused: ${JSON.stringify(puts)}`);
  const lease = server.lease(NAMESPACE, 'race')!;
  assert.equal(lease.spec.holderIdentity, winner.id);
  assert.equal(lease.spec.leaseTransitions, 5);
  assert.deepEqual(race.filter((c) => c !== winner).map((c) => c.acquiredAt), [undefined, undefined]);
  assert.deepEqual(violations, []);
});

test('a Lease left by a crashed leader is taken after a full lease duration of the follower\'s own clock', async () => {
  // Its renewTime is an hour old, but another node's clock may be wrong: only an unchanged record for a lease
  // duration, as this candidate measures it, proves the holder is gone.
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  server.seed(NAMESPACE, 'stale', { holderIdentity: 'crashed-controller', leaseDurationSeconds: 2, acquireTime: hourAgo, renewTime: hourAgo, leaseTransitions: 0 });
  const startedAt = Date.now();
  const a = candidate('controller-a', 'stale');
  await waitFor('a leads', () => a.lock.isLeader, 10_000, 10);
  const waited = a.acquiredAt! - startedAt;
  assert.ok(waited >= 2000, `waited ${waited} ms`);
  assert.ok(waited < 2000 + 3 * TIMING.retryPeriodMs + 500, `waited ${waited} ms`);
  assert.equal(server.lease(NAMESPACE, 'stale')?.spec.leaseTransitions, 1);
});
