// `sr up` killed with SIGKILL runs no handler, so its children must notice by themselves that it is gone:
//  - every `sr` process started under it (API server, controllers, processors — the controllers pass their
//    environment on) watches the pid in SR_LIFELINE_PID and stops itself (SIGTERM to itself: its own graceful
//    shutdown) when that process is gone. They watch `sr up`, not their direct parent, on purpose: a controller
//    killed with -9 while `sr up` lives is restarted and adopts its live processors (pid files, hash), as before;
//  - foreign binaries cannot watch anything (etcd, UDF commands), so `sr up` also starts this file as a small
//    watchdog whose stdin is a pipe from `sr up` (like the dev Kafka): at end of file, i.e. when `sr up` is gone
//    however it ended, it stops every process recorded in the run directory's pid files (each in its own process
//    group, so a UDF's own children go too): SIGTERM, then SIGKILL after a grace period.
// After a normal shutdown `sr up` has stopped everything and removed the pid files, so the watchdog finds nothing.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The pid of the `sr up` whose death must end this process. */
export const LIFELINE_ENV = 'SR_LIFELINE_PID';
const POLL_MS = 500;
/** A graceful stop that takes longer than this ends with process.exit. */
const HARD_EXIT_MS = 20_000;

/** The kernel's start time of a process (field 22 of /proc/<pid>/stat), so a recycled pid is not taken for the
 *  original; undefined when there is no such process or it is a zombie (dead, not yet reaped). */
function startTime(pid: number): string | undefined {
  let stat: string;
  try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return undefined; }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19];
}

/** Starts watching SR_LIFELINE_PID (when set): once that process is gone, this one stops itself. */
export function watchLifeline(env: NodeJS.ProcessEnv = process.env): void {
  const pid = Number(env[LIFELINE_ENV]);
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return;
  const started = startTime(pid);
  if (started === undefined) return; // already gone before we started: not ours to judge (e.g. a stale variable)
  const timer = setInterval(() => {
    if (startTime(pid) === started) return;
    clearInterval(timer);
    process.stderr.write(`sr: the sr up that started this process (pid ${pid}) is gone; stopping\n`);
    setTimeout(() => process.exit(1), HARD_EXIT_MS).unref();
    // Our own graceful shutdown (drain, stop children), as on Ctrl-C.
    process.kill(process.pid, 'SIGTERM');
  }, POLL_MS);
  timer.unref();
}

interface PidRecord { pid: number; hash?: string; id?: string }

/** The live processes recorded under `runDir` (components `*.pid`, processors and UDFs `processors/<ns>_<name>/*.pid`)
 *  that still are what was recorded: their environment carries the slot identity the supervisor put there, and, with
 *  `lifeline`, that `sr up` pid (so a new `sr up` started on the same directory meanwhile is left alone). */
export function recordedProcesses(runDir: string, lifeline?: number): number[] {
  const files: string[] = [];
  if (existsSync(runDir)) for (const f of readdirSync(runDir)) if (f.endsWith('.pid') && f !== 'up.pid') files.push(join(runDir, f));
  const processors = join(runDir, 'processors');
  if (existsSync(processors)) {
    for (const d of readdirSync(processors)) {
      const sub = join(processors, d);
      try { for (const f of readdirSync(sub)) if (f.endsWith('.pid')) files.push(join(sub, f)); } catch { /* not a directory */ }
    }
  }
  const pids: number[] = [];
  for (const file of files) {
    let record: PidRecord;
    try { record = JSON.parse(readFileSync(file, 'utf8')) as PidRecord; } catch { continue; }
    if (!Number.isInteger(record.pid) || startTime(record.pid) === undefined) continue;
    try {
      const environ = readFileSync(`/proc/${record.pid}/environ`, 'utf8').split('\0');
      if (!environ.includes(`SR_LOCAL_SLOT=${record.id ?? ''}#${record.hash ?? ''}`)) continue;
      if (lifeline !== undefined && !environ.includes(`${LIFELINE_ENV}=${lifeline}`)) continue;
    } catch { continue; }
    pids.push(record.pid);
  }
  return pids;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch {
    try { process.kill(pid, signal); } catch { /* gone */ }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Stops everything recorded under `runDir`: SIGTERM, up to `graceMs` to exit, then SIGKILL; twice, so a process a
 *  dying supervisor restarted in between goes as well. */
export async function stopRecorded(runDir: string, lifeline?: number, graceMs = 5000): Promise<void> {
  for (let round = 0; round < 2; round++) {
    const pids = recordedProcesses(runDir, lifeline);
    if (pids.length === 0) return;
    for (const pid of pids) signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && pids.some((pid) => startTime(pid) !== undefined)) await sleep(100);
    for (const pid of pids) if (startTime(pid) !== undefined) signalGroup(pid, 'SIGKILL');
    await sleep(300);
  }
}

/** The watchdog: `node lifeline.js <runDir> <sr up pid>`, stdin a pipe from `sr up`. */
async function watchdog(runDir: string, lifeline: number | undefined): Promise<void> {
  await new Promise<void>((resolve) => {
    process.stdin.on('data', () => undefined);
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
    process.stdin.once('error', () => resolve());
  });
  await stopRecorded(runDir, lifeline);
  process.exit(0);
}

if (require.main === module) {
  // Terminal signals (Ctrl-C reaches the whole foreground group) must not end the watchdog before `sr up` is gone.
  for (const signal of ['SIGINT', 'SIGHUP', 'SIGTERM'] as const) process.on(signal, () => undefined);
  const runDir = process.argv[2];
  const lifeline = Number(process.argv[3]);
  if (!runDir) {
    process.stderr.write('usage: node lifeline.js <run directory> [<sr up pid>]  (stdin: a pipe from sr up)\n');
    process.exit(2);
  }
  void watchdog(runDir, Number.isInteger(lifeline) && lifeline > 1 ? lifeline : undefined);
}
