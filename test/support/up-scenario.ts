// What the end-to-end files on one shared `sr up` need around each scenario: a clean slate afterwards, and on
// failure a report of what the resources and the running processors said at that moment (kubectl's view, each
// processor's /debug/state and its last warnings), so a red run can be read without re-running it.
import { test } from 'node:test';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SrUp, UpHandle } from './controllers-up';
import { waitFor } from './ports';

/** Deletes every Processor, Stream and ClusterStream, and waits until no processor process is left. */
export async function deleteEverything(up: UpHandle): Promise<void> {
  await up.kubectl('delete', 'srp,srs', '--all', '--all-namespaces', '--wait=true', '--timeout=60s');
  await up.kubectl('delete', 'srcs', '--all', '--wait=true', '--timeout=60s');
  await waitFor('no processor processes', () => up.processorPidsAll().length === 0, 30_000, 100);
}

/** The debug port a processor instance logged last (it changes when the instance restarts). */
export function debugPortOf(up: UpHandle, processor: string, index = 0, namespace = 'default'): string | undefined {
  const text = readFileSync(join(up.dir, 'logs', `${namespace}_${processor}-${index}.log`), 'utf8');
  return lastDebugPort(text);
}

function lastDebugPort(logText: string): string | undefined {
  return /"debugPort":(\d+)/.exec(logText.split('\n').reverse().join('\n'))?.[1];
}

/** Every running processor's /debug/state (bindings, watermarks, open windows, SQL plan) and its last warnings. */
export async function processorDebugStates(up: UpHandle, maxChars = 4000): Promise<string> {
  const logs = join(up.dir, 'logs');
  const out: string[] = [];
  for (const file of readdirSync(logs).filter((f) => /^[a-z0-9-]+_.*-\d+\.log$/.test(f))) {
    const text = readFileSync(join(logs, file), 'utf8');
    const warnings = text.split('\n').filter((l) => /"level":(40|50|60)/.test(l)).slice(-5).join('\n');
    const port = lastDebugPort(text);
    const state = port
      ? await fetch(`http://127.0.0.1:${port}/debug/state`).then((r) => r.text()).catch(() => 'unreachable')
      : 'no debug port';
    out.push(`--- ${file}: ${state.replace(/\s+/g, ' ').slice(0, maxChars)}\n${warnings}`);
  }
  return out.join('\n');
}

/** The resources as `kubectl get -o wide` and each Processor's first condition, for failure reports. */
export async function resourceReport(up: UpHandle): Promise<string> {
  const wide = await up.kubectl('get', 'srcs,srs,srp', '--all-namespaces', '-o', 'wide').catch((e: unknown) => String(e));
  const conditions = await up.kubectl('get', 'srp', '--all-namespaces', '-o',
    'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}: {.status.conditions[0].reason} {.status.conditions[0].message}{"\\n"}{end}')
    .catch(() => '');
  return `${wide}\n${conditions}`;
}

/**
 * A test on the shared `sr up`: whatever happens, everything it created is deleted afterwards; when it fails, the
 * error carries the resources' and the processors' state.
 */
export function upScenario(sr: SrUp, name: string, body: () => Promise<void>): void {
  test(name, async () => {
    try {
      await body();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`${message}\n${await resourceReport(sr.up)}\n${await processorDebugStates(sr.up)}`, { cause: err });
    } finally {
      await deleteEverything(sr.up);
    }
  });
}
