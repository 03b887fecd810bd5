// One supervised local process: started in its own process group (so stopping it also stops anything it
// spawned), output appended to a log file, restarted with exponential backoff when it dies (first restart after
// `initialBackoffMs`, default 100 ms), backoff reset once it has run for `stableAfterMs`. Its pid is recorded in a
// pid file so a restarted controller adopts the running process instead of starting a duplicate.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ProcessSpec {
  /** Unique identity of the slot (e.g. `default/proc/0/processor`), also put in the environment for adoption. */
  id: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  logFile: string;
  pidFile: string;
  /** Changes when what should run changes; a running process with another hash is replaced, not adopted. */
  hash: string;
}

export interface SupervisorOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  stableAfterMs?: number;
  stopGraceMs?: number;
  onChange?: () => void;
  onExit?: (id: string, code: number | null, signal: string | null) => void;
}

interface PidRecord { pid: number; hash: string; id: string }

export const SLOT_ENV = 'SR_LOCAL_SLOT';

export class SupervisedProcess {
  private pid: number | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private startedAt = 0;
  private exitWaiters: (() => void)[] = [];
  restarts = 0;
  lastExit: { code: number | null; signal: string | null } | undefined;

  constructor(readonly spec: ProcessSpec, private readonly opts: SupervisorOptions = {}) {
    this.backoffMs = opts.initialBackoffMs ?? 100;
  }

  get running(): boolean { return this.pid !== undefined; }

  get processId(): number | undefined { return this.pid; }

  /** Adopts a live process started earlier for the same slot and hash, else starts a new one. */
  start(): void {
    this.stopping = false;
    const adopted = adoptable(this.spec);
    if (adopted !== undefined) {
      this.pid = adopted;
      this.startedAt = Date.now();
      this.pollAdopted();
      this.opts.onChange?.();
      return;
    }
    killRecorded(this.spec.pidFile);
    this.launch();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const pid = this.pid;
    if (pid !== undefined) {
      const exited = new Promise<void>((r) => this.exitWaiters.push(r));
      signalGroup(pid, 'SIGTERM');
      const grace = setTimeout(() => signalGroup(pid, 'SIGKILL'), this.opts.stopGraceMs ?? 3000);
      await exited;
      clearTimeout(grace);
    }
    if (this.pollTimer) clearInterval(this.pollTimer);
    rmSync(this.spec.pidFile, { force: true });
  }

  /** Stops watching without stopping the process (it is adopted by the next controller). */
  detach(): void {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
  }

  private launch(): void {
    mkdirSync(dirname(this.spec.logFile), { recursive: true });
    mkdirSync(dirname(this.spec.pidFile), { recursive: true });
    const fd = openSync(this.spec.logFile, 'a');
    let child;
    try {
      child = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: { ...process.env, ...this.spec.env, [SLOT_ENV]: `${this.spec.id}#${this.spec.hash}` },
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    child.on('error', (err) => {
      // spawn failures (command not found) surface as an exit so the backoff loop applies.
      writeFileSync(this.spec.logFile, `sr: cannot start ${this.spec.command}: ${err.message}\n`, { flag: 'a' });
      if (child.pid === undefined) this.exited(null, null);
    });
    if (child.pid === undefined) return;
    this.pid = child.pid;
    this.startedAt = Date.now();
    const record: PidRecord = { pid: child.pid, hash: this.spec.hash, id: this.spec.id };
    writeFileSync(this.spec.pidFile, JSON.stringify(record));
    child.on('exit', (code, signal) => this.exited(code, signal));
    this.opts.onChange?.();
  }

  private pollAdopted(): void {
    const pid = this.pid!;
    this.pollTimer = setInterval(() => {
      if (!isAlive(pid)) { clearInterval(this.pollTimer); this.pollTimer = undefined; this.exited(null, null); }
    }, 200);
    this.pollTimer.unref();
  }

  private exited(code: number | null, signal: string | null): void {
    this.pid = undefined;
    this.lastExit = { code, signal };
    this.opts.onExit?.(this.spec.id, code, signal);
    for (const w of this.exitWaiters.splice(0)) w();
    if (this.stopping) return;
    rmSync(this.spec.pidFile, { force: true });
    if (Date.now() - this.startedAt > (this.opts.stableAfterMs ?? 10_000)) this.backoffMs = this.opts.initialBackoffMs ?? 100;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.opts.maxBackoffMs ?? 10_000, this.backoffMs * 2);
    this.restarts++;
    this.opts.onChange?.();
    this.restartTimer = setTimeout(() => { if (!this.stopping) this.launch(); }, delay);
  }
}

export function isAlive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  // A zombie still answers kill(0); /proc tells the truth.
  try { return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch {
    try { process.kill(pid, signal); } catch { /* already gone */ }
  }
}

function readRecord(pidFile: string): PidRecord | undefined {
  if (!existsSync(pidFile)) return undefined;
  try { return JSON.parse(readFileSync(pidFile, 'utf8')) as PidRecord; } catch { return undefined; }
}

/** The pid in the slot's pid file, if that process is alive and really is this slot (its environment says so). */
function recordedSlotProcess(pidFile: string): PidRecord | undefined {
  const record = readRecord(pidFile);
  if (!record || !isAlive(record.pid)) return undefined;
  try {
    const environ = readFileSync(`/proc/${record.pid}/environ`, 'utf8').split('\0');
    if (!environ.includes(`${SLOT_ENV}=${record.id}#${record.hash}`)) return undefined;
  } catch { return undefined; }
  return record;
}

function adoptable(spec: ProcessSpec): number | undefined {
  const record = recordedSlotProcess(spec.pidFile);
  return record && record.hash === spec.hash && record.id === spec.id ? record.pid : undefined;
}

/** Stops the process recorded in a pid file (a leftover of an earlier run with another configuration). */
export function killRecorded(pidFile: string): void {
  const record = recordedSlotProcess(pidFile);
  if (record) signalGroup(record.pid, 'SIGKILL');
  rmSync(pidFile, { force: true });
}
