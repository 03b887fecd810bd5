// No import cycles between the project's modules (issue: "break the cycles"): a cycle means two modules are one idea
// split in two, or a shared piece living in the wrong file. The folder rules (which folder may import which) are
// lint (eslint.config.mjs); cycles inside a folder are checked here, over the sources, type imports included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const root = join(__dirname, '..', '..', '..');

function sources(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], { cwd: root, encoding: 'utf8' });
  return listed.split('\n').filter((f) => f && !f.endsWith('.test.ts') && !f.endsWith('.d.ts') && !f.startsWith('extension/') && existsSync(join(root, f)));
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
    const base = normalize(join(dirname(file), m[1]));
    const target = [`${base}.ts`, join(base, 'index.ts')].find((candidate) => existsSync(join(root, candidate)));
    if (target) found.push(target);
  }
  return found;
}

/** Strongly connected components of more than one module (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('no import cycles among the sources', () => {
  const graph = new Map(sources().map((file) => [file, importsOf(file)]));
  assert.ok(graph.size > 100, `read ${graph.size} sources`);
  assert.ok([...graph.values()].some((deps) => deps.length > 0), 'imports were resolved');
  assert.deepEqual(cycles(graph), []);
});

test('the cycle finder finds a cycle', () => {
  assert.deepEqual(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]])), [['a.ts', 'b.ts', 'c.ts']]);
});
