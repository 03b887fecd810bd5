import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../test/support/tmp';
import { logSources } from './logs';

const dir = tempDir('sr-logs-');
after(() => dir.remove());

test('sr logs finds every replica and container of one Processor, and prints them prefixed', () => {
  const logs = join(dir.path, 'logs');
  mkdirSync(logs, { recursive: true });
  writeFileSync(join(logs, 'default_p-0.log'), 'zero\n');
  writeFileSync(join(logs, 'default_p-1.log'), 'one\n');
  writeFileSync(join(logs, 'default_p-1-udf.log'), 'udf one\n');
  writeFileSync(join(logs, 'default_p-other-0.log'), 'not mine\n');
  writeFileSync(join(logs, 'other_p-0.log'), 'other namespace\n');
  assert.deepEqual(logSources(logs, 'default', 'p').map((s) => s.label), ['0/processor', '1/processor', '1/udf']);
  assert.deepEqual(logSources(logs, 'default', 'p', 'udf').map((s) => s.label), ['1/udf']);
  const out = execFileSync(process.execPath, [resolve(__dirname, 'sr.js'), 'logs', 'p', '--dir', dir.path], { encoding: 'utf8' });
  assert.equal(out, '[0/processor] zero\n[1/processor] one\n[1/udf] udf one\n');
});
