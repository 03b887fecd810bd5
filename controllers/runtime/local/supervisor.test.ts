import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../../test/support/tmp';
import { waitFor } from '../../../test/support/ports';
import { SupervisedProcess, isAlive, type ProcessSpec } from './supervisor';

const dir = tempDir('sr-supervisor-');
after(() => dir.remove());

// A process that starts a grandchild (to prove the whole process group is stopped) and then idles.
const script = `
const { spawn } = require('node:child_process');
const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log('started ' + process.pid + ' grandchild ' + g.pid + ' port ' + process.env.PORT);
setInterval(() => {}, 1000);
`;

function spec(id: string, hash = 'h1'): ProcessSpec {
  return {
    id, hash, command: process.execPath, args: ['-e', script], env: { PORT: '1234' },
    logFile: join(dir.path, `${id}.log`), pidFile: join(dir.path, `${id}.pid`),
  };
}

function grandchildren(logFile: string): number[] {
  return [...readFileSync(logFile, 'utf8').matchAll(/grandchild (\d+)/g)].map((m) => Number(m[1]));
}

test('kill -9 restarts the process within 2 s; stop ends the whole process group', async () => {
  const p = new SupervisedProcess(spec('a'));
  p.start();
  await waitFor('first start', () => /started/.test(readFileSync(p.spec.logFile, 'utf8')), 10_000);
  const first = p.processId!;
  const killedAt = Date.now();
  process.kill(first, 'SIGKILL');
  await waitFor('restart', () => p.processId !== undefined && p.processId !== first, 2000, 10);
  assert.ok(Date.now() - killedAt < 2000, 'restarted within 2 s');
  assert.equal(p.restarts, 1);
  await waitFor('second start', () => (readFileSync(p.spec.logFile, 'utf8').match(/started/g) ?? []).length === 2, 10_000);
  assert.match(readFileSync(p.spec.logFile, 'utf8'), /port 1234/, 'env reaches the process');
  const second = p.processId!;
  const kids = grandchildren(p.spec.logFile);
  await p.stop();
  assert.equal(isAlive(second), false);
  await waitFor('grandchild gone', () => !isAlive(kids[kids.length - 1]), 5000);
});

test('a new supervisor adopts the live process of the same slot and hash instead of starting a duplicate', async () => {
  const first = new SupervisedProcess(spec('b'));
  first.start();
  await waitFor('start', () => /started/.test(readFileSync(first.spec.logFile, 'utf8')), 10_000);
  const pid = first.processId!;
  first.detach(); // the controller went away; the process keeps running

  const second = new SupervisedProcess(spec('b'));
  second.start();
  assert.equal(second.processId, pid, 'adopted');
  assert.equal((readFileSync(first.spec.logFile, 'utf8').match(/started/g) ?? []).length, 1, 'no second process');
  // An adopted process that dies is restarted too.
  process.kill(pid, 'SIGKILL');
  await waitFor('restart of adopted', () => second.processId !== undefined && second.processId !== pid, 3000, 20);

  // Another configuration (hash) replaces, never adopts.
  const running = second.processId!;
  second.detach();
  const third = new SupervisedProcess(spec('b', 'h2'));
  third.start();
  assert.notEqual(third.processId, running);
  await waitFor('old one killed', () => !isAlive(running), 5000);
  await third.stop();
});

test('a command that cannot start is retried with backoff, not a crash', async () => {
  const p = new SupervisedProcess({ ...spec('c'), command: '/nonexistent/cmd', args: [] }, { initialBackoffMs: 20, maxBackoffMs: 100 });
  p.start();
  await waitFor('retries', () => p.restarts >= 3, 5000);
  await p.stop();
  assert.match(readFileSync(p.spec.logFile, 'utf8'), /cannot start/);
});
