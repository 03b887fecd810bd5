import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WindowOperator, type WindowEvent, type WindowRelease } from './operator';
import { resolveWindowSettings, type WindowSettings } from './settings';

function settings(overrides: Partial<WindowSettings>): WindowSettings {
  return {
    type: 'TUMBLING',
    sizeMs: 5000,
    slideMs: 5000,
    gapMs: 0,
    allowedLatenessMs: 0,
    lateEventMode: 'DROP',
    idleTimeoutMs: undefined,
    maxState: 1000,
    ...overrides,
  };
}

function event(timestamp: number, token: string, key?: string): WindowEvent<string> {
  return { timestamp, key, payload: Buffer.from(JSON.stringify({ t: timestamp })), headers: { contentType: 'application/json' }, token };
}

function summary(releases: WindowRelease<string>[]): Array<[number, number, string | undefined, number[], string[], boolean, boolean]> {
  return releases.map((r) => [r.start, r.end, r.key, r.events.map((e) => e.timestamp), r.tokens, r.partial, r.update]);
}

test('tumbling boundaries: start = ts - ts mod size, also for negative times', () => {
  const op = new WindowOperator<string>(settings({}));
  for (const [ts, token] of [[0, 'a'], [4999, 'b'], [5000, 'c'], [-1, 'd']] as const) {
    assert.deepEqual(op.add(event(ts, token), 0), { status: 'ON_TIME', action: 'ADDED' });
  }
  assert.equal(op.openWindows, 3);
  assert.equal(op.bufferedEvents, 4);
  assert.deepEqual(summary(op.advance(-1)), []);
  assert.deepEqual(summary(op.advance(0)), [[-5000, 0, undefined, [-1], ['d'], false, false]]);
  assert.deepEqual(summary(op.advance(4999)), []);
  assert.deepEqual(summary(op.advance(10_000)), [
    [0, 5000, undefined, [0, 4999], ['a', 'b'], false, false],
    [5000, 10_000, undefined, [5000], ['c'], false, false],
  ]);
  assert.equal(op.bufferedEvents, 0);
  assert.equal(op.openWindows, 0);
  assert.deepEqual(op.advance(3), [], 'the watermark never moves back');
  assert.equal(op.watermark, 10_000);
});

test('per-key windows release separately, ordered by end', () => {
  const op = new WindowOperator<string>(settings({}));
  op.add(event(6000, 'r2', 'red'), 0);
  op.add(event(1000, 'r1', 'red'), 0);
  op.add(event(2000, 'b1', 'blue'), 0);
  assert.deepEqual(summary(op.advance(10_000)), [
    [0, 5000, 'red', [1000], ['r1'], false, false],
    [0, 5000, 'blue', [2000], ['b1'], false, false],
    [5000, 10_000, 'red', [6000], ['r2'], false, false],
  ]);
});

test('lateness 0: a late event of a still-open window is added (the original discarded it); past the end it is too late', () => {
  const op = new WindowOperator<string>(settings({}));
  op.add(event(1000, 'a'), 0);
  op.advance(3000);
  assert.deepEqual(op.add(event(2000, 'late-but-open'), 0), { status: 'LATE', action: 'ADDED' });
  assert.deepEqual(summary(op.advance(5000)), [[0, 5000, undefined, [1000, 2000], ['a', 'late-but-open'], false, false]]);
  assert.deepEqual(op.add(event(4000, 'x'), 0), {
    status: 'TOO_LATE',
    action: 'DROPPED',
    reason: 'window ending at 5000 is past its allowed lateness (0 ms): watermark 5000',
  });
  const side = new WindowOperator<string>(settings({ lateEventMode: 'SIDE_CHANNEL' }));
  side.advance(5000);
  assert.equal(side.add(event(4999, 'x'), 0).action, 'SIDE_CHANNEL');
  assert.equal(side.add(event(5000, 'y'), 0).action, 'ADDED');
});

test('allowed lateness with UPSERT: an emitted window is re-emitted with the late event until end + lateness', () => {
  const op = new WindowOperator<string>(settings({ allowedLatenessMs: 2000, lateEventMode: 'UPSERT' }));
  op.add(event(1000, 'a'), 0);
  assert.deepEqual(summary(op.advance(5000)), [[0, 5000, undefined, [1000], ['a'], false, false]]);
  assert.equal(op.bufferedEvents, 1, 'kept for lateness');
  assert.deepEqual(op.add(event(4000, 'late'), 0), { status: 'LATE', action: 'UPDATED' });
  assert.deepEqual(summary(op.advance(5500)), [[0, 5000, undefined, [1000, 4000], ['late'], false, true]]);
  assert.deepEqual(summary(op.advance(6000)), [], 'nothing new: no re-emission');
  assert.equal(op.add(event(4500, 'late2'), 0).action, 'UPDATED');
  assert.deepEqual(summary(op.advance(7000)), [[0, 5000, undefined, [1000, 4000, 4500], ['late2'], false, true]]);
  assert.equal(op.bufferedEvents, 0, 'purged at end + lateness');
  assert.equal(op.add(event(4600, 'too-late'), 0).status, 'TOO_LATE');
});

test('allowed lateness with DROP: like UPSERT within lateness (the lateness is an explicit grant), dropped beyond', () => {
  const op = new WindowOperator<string>(settings({ allowedLatenessMs: 2000, lateEventMode: 'DROP' }));
  op.add(event(1000, 'a'), 0);
  assert.equal(op.advance(5000).length, 1);
  assert.deepEqual(op.add(event(4000, 'late'), 0), { status: 'LATE', action: 'UPDATED' });
  assert.deepEqual(summary(op.advance(5001)), [[0, 5000, undefined, [1000, 4000], ['late'], false, true]]);
  op.advance(7000);
  assert.deepEqual(op.add(event(4000, 'later'), 0), {
    status: 'TOO_LATE',
    action: 'DROPPED',
    reason: 'window ending at 5000 is past its allowed lateness (2000 ms): watermark 7000',
  });
  assert.equal(op.openWindows, 0);
  assert.equal(op.bufferedEvents, 0);
});

test('allowed lateness with SIDE_CHANNEL: late events of an emitted window go to the side channel', () => {
  const op = new WindowOperator<string>(settings({ allowedLatenessMs: 2000, lateEventMode: 'SIDE_CHANNEL' }));
  op.add(event(1000, 'a'), 0);
  assert.equal(op.advance(5000).length, 1);
  assert.equal(op.bufferedEvents, 0, 'only a marker is kept');
  assert.deepEqual(op.add(event(4000, 'late'), 0), { status: 'LATE', action: 'SIDE_CHANNEL', reason: 'window [0, 5000) was already emitted' });
  // The same window of another key was never emitted: it still takes the event and is emitted normally.
  assert.deepEqual(op.add(event(4000, 'other', 'k2'), 0), { status: 'LATE', action: 'ADDED' });
  assert.deepEqual(summary(op.advance(5001)), [[0, 5000, 'k2', [4000], ['other'], false, false]]);
  op.advance(7000);
  assert.equal(op.add(event(4000, 'later'), 0).action, 'SIDE_CHANNEL');
  assert.equal(op.add(event(4000, 'later'), 0).status, 'TOO_LATE');
  assert.equal(op.openWindows, 0);
});

test('idle release: partial=true after srp.window.idle.timeout without events; later events start a continuation', () => {
  const op = new WindowOperator<string>(settings({ idleTimeoutMs: 1000 }));
  op.add(event(1000, 'a'), 0);
  op.add(event(1500, 'b'), 400);
  assert.deepEqual(op.releaseIdle(1399), []);
  assert.deepEqual(summary(op.releaseIdle(1400)), [[0, 5000, undefined, [1000, 1500], ['a', 'b'], true, false]]);
  assert.equal(op.bufferedEvents, 0);
  op.add(event(2000, 'c'), 2000);
  assert.deepEqual(summary(op.advance(5000)), [[0, 5000, undefined, [2000], ['c'], false, false]]);
  const none = new WindowOperator<string>(settings({}));
  none.add(event(1, 'a'), 0);
  assert.deepEqual(none.releaseIdle(1e12), [], 'no idle timeout configured');
});

test('bounded state: refuses with a reason when srp.window.maxState is reached', () => {
  const op = new WindowOperator<string>(settings({ maxState: 2 }));
  op.add(event(1, 'a'), 0);
  op.add(event(2, 'b'), 0);
  assert.deepEqual(op.add(event(3, 'c'), 0), {
    status: 'REFUSED',
    action: 'REFUSED',
    reason: 'window state is full: 2 buffered events reached srp.window.maxState=2',
  });
  assert.equal(op.bufferedEvents, 2);
  op.advance(5000);
  assert.equal(op.add(event(5001, 'c'), 0).action, 'ADDED');
});

test('sliding windows: an event is in size/slide windows and its token comes back with the last one', () => {
  const op = new WindowOperator<string>(settings({ type: 'SLIDING', sizeMs: 10_000, slideMs: 5000 }));
  assert.deepEqual(op.add(event(7000, 't'), 0), { status: 'ON_TIME', action: 'ADDED' });
  assert.deepEqual(op.add(event(12_000, 'u'), 0), { status: 'ON_TIME', action: 'ADDED' });
  assert.equal(op.bufferedEvents, 4);
  assert.deepEqual(summary(op.advance(10_000)), [[0, 10_000, undefined, [7000], [], false, false]]);
  assert.deepEqual(summary(op.advance(15_000)), [[5000, 15_000, undefined, [7000, 12_000], ['t'], false, false]]);
  assert.deepEqual(summary(op.advance(20_000)), [[10_000, 20_000, undefined, [12_000], ['u'], false, false]]);
  assert.equal(op.bufferedEvents, 0);
});

test('session windows per key: gap merges, bridging events merge sessions', () => {
  const op = new WindowOperator<string>(settings({ type: 'SESSION', sizeMs: 0, gapMs: 1000 }));
  op.add(event(0, 'a0', 'a'), 0);
  op.add(event(500, 'a1', 'a'), 0);
  op.add(event(1400, 'a2', 'a'), 0);
  op.add(event(5000, 'a3', 'a'), 0);
  op.add(event(0, 'b0', 'b'), 0);
  op.add(event(1800, 'b1', 'b'), 0);
  assert.equal(op.openWindows, 4);
  op.add(event(900, 'b2', 'b'), 0);
  assert.equal(op.openWindows, 3, 'b2 bridged the two sessions of b');
  assert.deepEqual(summary(op.advance(2800)), [
    [0, 2400, 'a', [0, 500, 1400], ['a0', 'a1', 'a2'], false, false],
    [0, 2800, 'b', [0, 1800, 900], ['b0', 'b1', 'b2'], false, false],
  ]);
  assert.deepEqual(summary(op.advance(6000)), [[5000, 6000, 'a', [5000], ['a3'], false, false]]);
  assert.equal(op.add(event(100, 'old', 'a'), 0).status, 'TOO_LATE');
});

test('describe explains why each window is open', () => {
  const op = new WindowOperator<string>(settings({ idleTimeoutMs: 60_000, allowedLatenessMs: 1000, lateEventMode: 'UPSERT' }));
  op.add(event(1000, 'a', 'red'), 0);
  let state = op.describe(500);
  assert.equal(state.watermark, null);
  assert.deepEqual(state.windows[0], {
    start: 0,
    end: 5000,
    key: 'red',
    events: 1,
    pending: 1,
    emitted: false,
    idleMs: 500,
    waitingFor: 'no watermark yet: closes when the watermark reaches its end 5000; idle release (partial) in 59500 ms if no event arrives',
  });
  op.add(event(7000, 'b', 'red'), 0);
  op.advance(4000);
  state = op.describe(1000);
  assert.equal(state.windows[0].waitingFor, 'watermark 4000 has not reached the window end 5000 (1000 ms to go); idle release (partial) in 59000 ms if no event arrives');
  op.advance(5500);
  state = op.describe(1000);
  assert.equal(state.windows[0].waitingFor, 'emitted; kept for allowed lateness until the watermark reaches 6000 (now 5500)');
  assert.equal(state.openWindows, 2);
  assert.equal(op.describe(0, 1).omitted, 1);
});

test('settings from attributes', () => {
  assert.equal(resolveWindowSettings({}), undefined);
  assert.deepEqual(resolveWindowSettings({ 'srp.window': '5s', 'srp.window.idle.timeout': '60s', 'srp.lateEventMode': 'side_channel', 'srp.allowedLateness': '1s' }), {
    type: 'TUMBLING',
    sizeMs: 5000,
    slideMs: 5000,
    gapMs: 0,
    allowedLatenessMs: 1000,
    lateEventMode: 'SIDE_CHANNEL',
    idleTimeoutMs: 60_000,
    maxState: 100_000,
  });
  assert.equal(resolveWindowSettings({ 'srp.window': '10s', 'srp.window.type': 'SLIDING', 'srp.window.slide': '2s' })?.slideMs, 2000);
  assert.equal(resolveWindowSettings({ 'srp.window.type': 'SESSION', 'srp.window.gap': '30s' })?.gapMs, 30_000);
  assert.throws(() => resolveWindowSettings({ 'srp.window': '10s', 'srp.window.type': 'SLIDING' }), /srp.window.slide/);
  assert.throws(() => resolveWindowSettings({ 'srp.window': '10s', 'srp.window.type': 'HOPPING' }), /srp.window.type/);
  assert.throws(() => resolveWindowSettings({ 'srp.window': '0s' }), /positive size/);
  assert.throws(() => resolveWindowSettings({ 'srp.window': '5s', 'srp.window.maxState': '-1' }), /srp.window.maxState/);
  assert.throws(() => resolveWindowSettings({ 'srp.window': '5s', 'srp.lateEventMode': 'KEEP' }), /srp.lateEventMode/);
  assert.throws(() => resolveWindowSettings({ 'srp.window': 'five' }), /srp.window/);
});
