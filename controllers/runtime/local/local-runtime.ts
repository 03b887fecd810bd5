// The local runtime (`sr up`): every Processor replica is a supervised child process
// `node dist/cli/sr.js processor --config FILE`; containers with `command` (UDFs; SCS applications) run as local
// processes beside it. Ports never collide: each UDF gets a port picked by the kernel and reserved by this runtime
// for as long as the slot exists; the UDF learns it from PORT / GRPC_PORT / SR_UDF_PORT.
//
// Layout under DIR: run/<ns>_<name>/config-<i>.json, run/<ns>_<name>/<i>-<container>.pid (adoption after a
// controller restart), run/<ns>_<name>/<i>.state/ (replica i's window state on disk), logs/<ns>_<name>-<i>.log
// (processor) and logs/<ns>_<name>-<i>-<container>.log.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Container } from '../../../crds/types';
import type { ProcessorConfig } from '../../../processor/config';
import type { ProcessorWorkload, Runtime, WorkloadStatus } from '../types';
import { SupervisedProcess, killRecorded, type ProcessSpec } from './supervisor';
import { missingImageMessage, type ImageMap } from './images';

export interface LocalRuntimeOptions {
  dir: string;
  log: Logger;
  /** The `sr` entry point (dist/cli/sr.js). */
  srEntry?: string;
  /** Working directory of UDF/SCS processes without `workingDir`. */
  cwd?: string;
  initialBackoffMs?: number;
  probeIntervalMs?: number;
  /** Extra environment of every `sr processor` process (e.g. SR_KAFKA_MOCK_BROKERS for the dev Kafka). */
  processorEnv?: Record<string, string>;
  /** Containers with an image and no command run the command this map gives (images.ts; `--images`). */
  images?: ImageMap;
}

interface Slot {
  index: number;
  hash: string;
  processes: SupervisedProcess[];
  /** The SRP processor's debug port: /readyz says whether its bindings are connected. */
  httpPort?: number;
  /** Last /readyz answer (SCS slots have none: running = ready). */
  probedReady: boolean;
  /** Why the last /readyz said no: its body lines (`not ready: input data-in: reconnecting (...)`), for status. */
  notReadyReasons: string[];
  /** Probes in a row that got no answer in time while the slot was Ready. */
  unanswered?: number;
}

interface LocalWorkload {
  key: string;
  slots: Slot[];
}

const HTTP_PORT_KEY = '#processor-http';

/** `timedOut`: no answer within the probe's timeout — a busy machine, not a verdict (see UNANSWERED_LIMIT). */
interface Readiness { ready: boolean; reasons: string[]; timedOut?: boolean }

/** Unanswered probes a Ready slot survives, as Kubernetes' readiness failureThreshold (3 = the third one flips it):
 *  with many processors on few cores a probe can wait longer than its timeout while the processor is fine. An answer
 *  that says "not ready" counts at once. */
const UNANSWERED_LIMIT = 3;

/** The processor's /readyz: 200, or 503 with one `not ready: <reason>` line per reason (processor/debug/server.ts). */
function readyz(port: number): Promise<Readiness> {
  return new Promise((res) => {
    const req = httpGet({ host: '127.0.0.1', port, path: '/readyz', timeout: 1000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => { if (body.length < 4096) body += d; });
      r.on('end', () => {
        const reasons = body.split('\n').map((l) => l.trim().replace(/^not ready:\s*/, '')).filter(Boolean);
        res(r.statusCode === 200 ? { ready: true, reasons: [] } : { ready: false, reasons: reasons.length ? reasons : [`/readyz answered ${r.statusCode ?? '?'}`] });
      });
      r.on('error', () => res({ ready: false, reasons: [] }));
    });
    // Not answering yet: the process is starting (its port opens once the configuration is loaded).
    req.on('error', () => res({ ready: false, reasons: ['starting'] }));
    req.on('timeout', () => { req.destroy(); res({ ready: false, reasons: ['/readyz did not answer within 1 s'], timedOut: true }); });
  });
}

export const UDF_PORT_ENVS = ['PORT', 'GRPC_PORT', 'SR_UDF_PORT'] as const;

export class LocalRuntime implements Runtime {
  readonly name = 'local' as const;
  private readonly workloadsByKey = new Map<string, LocalWorkload>();
  private readonly listeners: ((key: string) => void)[] = [];
  private readonly reservedPorts = new Set<number>();
  private readonly srEntry: string;
  private readonly runDir: string;
  private readonly logDir: string;
  private closed = false;
  private readonly probeTimer: NodeJS.Timeout;

  constructor(private readonly opts: LocalRuntimeOptions) {
    this.srEntry = opts.srEntry ?? resolve(__dirname, '..', '..', '..', 'cli', 'sr.js');
    this.runDir = join(opts.dir, 'run', 'processors');
    this.logDir = join(opts.dir, 'logs');
    mkdirSync(this.runDir, { recursive: true });
    mkdirSync(this.logDir, { recursive: true });
    // A round still running when the next tick comes (a loaded machine) is not doubled.
    let probing = false;
    this.probeTimer = setInterval(() => {
      if (probing) return;
      probing = true;
      void this.probeAll().finally(() => { probing = false; });
    }, opts.probeIntervalMs ?? 500);
    this.probeTimer.unref();
  }

  /** Readiness of every SRP replica from its /readyz; a change requeues the Processor. */
  private async probeAll(): Promise<void> {
    // Workloads at once: one slow processor must not delay every other's readiness.
    await Promise.all([...this.workloadsByKey.values()].map(async (state) => {
      let changed = false;
      await Promise.all(state.slots.map(async (slot) => {
        if (slot.httpPort === undefined) return;
        const running = slot.processes.every((p) => p.running);
        const answer: Readiness = running ? await readyz(slot.httpPort) : { ready: false, reasons: [] };
        if (answer.timedOut && slot.probedReady) {
          slot.unanswered = (slot.unanswered ?? 0) + 1;
          if (slot.unanswered < UNANSWERED_LIMIT) return;
        }
        slot.unanswered = 0;
        // A new reason is news too (e.g. the broker went away while another input was already down).
        if (answer.ready !== slot.probedReady || answer.reasons.join('\n') !== slot.notReadyReasons.join('\n')) {
          slot.probedReady = answer.ready;
          slot.notReadyReasons = answer.reasons;
          changed = true;
        }
      }));
      if (changed) this.notify(state.key);
    }));
  }

  onStatusChange(listener: (key: string) => void): void { this.listeners.push(listener); }

  async apply(workload: ProcessorWorkload): Promise<WorkloadStatus> {
    // An image without a command runs through the image map; the resolved command is part of the slot hash, so a
    // changed mapping restarts the replicas.
    const images = this.opts.images;
    if (images) workload = { ...workload, containers: workload.containers.map((c) => images.containerFor(c) ?? c) };
    const missing = workload.containers.filter((c) => !c.command?.length && (workload.type === 'SCS' || c.name === workload.udf?.containerName));
    if (missing.length) {
      await this.remove(workload.key);
      return {
        replicas: 0, readyReplicas: 0,
        unsupported: {
          reason: 'ContainerCommandRequired',
          message: missingImageMessage(missing, images),
        },
      };
    }
    const dirName = slotDir(workload.key);
    const state = this.workloadsByKey.get(workload.key) ?? { key: workload.key, slots: [] };
    this.workloadsByKey.set(workload.key, state);
    const wanted = workload.replicas;
    // Scale down: stop the highest indexes first (StatefulSet order).
    while (state.slots.length > wanted) {
      const slot = state.slots.pop()!;
      await this.stopSlot(slot);
    }
    for (let index = 0; index < wanted; index++) {
      const hash = slotHash(workload, index);
      const existing = state.slots[index];
      if (existing && existing.hash === hash) continue;
      if (existing) await this.stopSlot(existing);
      state.slots[index] = await this.startSlot(workload, index, hash, dirName);
    }
    return this.status(workload.key);
  }

  status(key: string): WorkloadStatus {
    const state = this.workloadsByKey.get(key);
    if (!state) return { replicas: 0, readyReplicas: 0 };
    const ready = state.slots.filter((s) => s.processes.every((p) => p.running) && (s.httpPort === undefined || s.probedReady)).length;
    const restarting = state.slots.flatMap((s) => s.processes).filter((p) => !p.running && p.lastExit);
    // The processors' own words (their /readyz lines) say why a running replica is not ready: broker unreachable,
    // messages refused, UDF down.
    const notes = [
      ...(restarting.length ? [`restarting ${restarting.map((p) => `${p.spec.id} (exit ${p.lastExit?.code ?? p.lastExit?.signal ?? '?'})`).join(', ')}`] : []),
      ...state.slots.filter((s) => s.httpPort !== undefined && !s.probedReady && s.notReadyReasons.length && s.processes.every((p) => p.running))
        .map((s) => `replica ${s.index} not ready: ${s.notReadyReasons.join('; ')}`),
    ];
    const message = notes.length ? notes.join('; ') : undefined;
    const metricsUrls = state.slots.flatMap((s) => (s.httpPort === undefined ? [] : [`http://127.0.0.1:${s.httpPort}/metrics`]));
    return {
      replicas: state.slots.length,
      readyReplicas: ready,
      ...(message ? { message } : {}),
      ...(metricsUrls.length ? { metricsUrls } : {}),
    };
  }

  async remove(key: string): Promise<void> {
    const state = this.workloadsByKey.get(key);
    this.workloadsByKey.delete(key);
    if (state) await Promise.all(state.slots.map((s) => this.stopSlot(s)));
    // Leftovers of an earlier controller run (processes recorded in pid files).
    const dir = join(this.runDir, slotDir(key));
    if (existsSync(dir)) {
      for (const f of readdirSync(dir)) if (f.endsWith('.pid')) killRecorded(join(dir, f));
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async workloads(): Promise<string[]> {
    const keys = new Set(this.workloadsByKey.keys());
    if (existsSync(this.runDir)) {
      for (const d of readdirSync(this.runDir)) {
        const key = keyOfDir(d);
        if (key) keys.add(key);
      }
    }
    return [...keys];
  }

  async close(opts: { stopWorkloads: boolean }): Promise<void> {
    this.closed = true;
    clearInterval(this.probeTimer);
    for (const state of this.workloadsByKey.values()) {
      for (const slot of state.slots) {
        if (opts.stopWorkloads) await this.stopSlot(slot);
        else for (const p of slot.processes) p.detach();
      }
    }
    if (opts.stopWorkloads) {
      for (const key of await this.workloads()) await this.remove(key);
    }
    this.workloadsByKey.clear();
  }

  /** Pid of every running process (tests: kill -9, duplicate checks). */
  processIds(key: string): { id: string; pid: number }[] {
    const state = this.workloadsByKey.get(key);
    return state?.slots.flatMap((s) => s.processes.filter((p) => p.processId !== undefined).map((p) => ({ id: p.spec.id, pid: p.processId! }))) ?? [];
  }

  private notify(key: string): void {
    if (this.closed) return;
    for (const l of this.listeners) l(key);
  }

  private async startSlot(workload: ProcessorWorkload, index: number, hash: string, dirName: string): Promise<Slot> {
    const dir = join(this.runDir, dirName);
    mkdirSync(dir, { recursive: true });
    const base = `${dirName}-${index}`;
    const processes: SupervisedProcess[] = [];
    const supervise = (spec: ProcessSpec): void => {
      processes.push(new SupervisedProcess(spec, {
        initialBackoffMs: this.opts.initialBackoffMs ?? 100,
        onChange: () => this.notify(workload.key),
        onExit: (id, code, signal) => this.opts.log.warn({ id, code, signal }, 'process exited; restarting with backoff'),
      }));
    };
    const portsFile = join(dir, `${index}.ports.json`);
    const ports = await this.portsFor(portsFile, [...workload.containers.map((c) => c.name), ...(workload.type !== 'SCS' ? [HTTP_PORT_KEY] : [])]);
    let httpPort: number | undefined;

    // SRP and FSQL run our processor (FSQL's configuration carries the statements); SCS runs the user's containers.
    if (workload.type !== 'SCS') {
      const config: ProcessorConfig = structuredClone(workload.configs[index] ?? workload.configs[0]);
      config.instanceIndex = index;
      if (workload.udf) {
        const udfContainer = workload.containers.find((c) => c.name === workload.udf?.containerName);
        if (udfContainer) config.udf = { ...(config.udf ?? {}), address: `127.0.0.1:${ports[udfContainer.name]}` };
      }
      httpPort = ports[HTTP_PORT_KEY];
      config.http = { host: '127.0.0.1', port: httpPort };
      // Window state on disk (srp.window.state: ROCKSDB): one directory per replica, removed with the workload.
      config.stateDir = join(dir, `${index}.state`);
      const configFile = join(dir, `config-${index}.json`);
      writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 });
      for (const c of workload.containers) {
        if (!c.command?.length) continue;
        supervise(this.containerSpec(workload, index, c, ports[c.name], [], hash, dir, base));
      }
      supervise({
        id: `${workload.key}/${index}/processor`,
        command: process.execPath,
        args: [this.srEntry, 'processor', '--config', configFile],
        // Credentials travel as binding Secrets' variables do, never in the configuration file.
        env: { ...this.opts.processorEnv, ...workload.credentials },
        logFile: join(this.logDir, `${base}.log`),
        pidFile: join(dir, `${index}-processor.pid`),
        hash,
      });
    } else {
      const env = workload.scsEnv?.[index] ?? [];
      for (const c of workload.containers) {
        supervise(this.containerSpec(workload, index, c, ports[c.name], env.map((e) => [e.name, e.value ?? ''] as [string, string]), hash, dir, base));
      }
    }
    for (const p of processes) p.start();
    return { index, hash, processes, ...(httpPort !== undefined ? { httpPort } : {}), probedReady: false, notReadyReasons: [] };
  }

  private containerSpec(workload: ProcessorWorkload, index: number, c: Container, port: number, extraEnv: [string, string][], hash: string, dir: string, base: string): ProcessSpec {
    const [command, ...commandArgs] = c.command ?? [];
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    for (const [k, v] of extraEnv) env[k] = v;
    if (workload.type === 'SCS') Object.assign(env, workload.credentials); // SPRING_RABBITMQ_USERNAME/_PASSWORD
    for (const name of UDF_PORT_ENVS) env[name] = String(port);
    env.SR_INSTANCE_INDEX = String(index);
    env.INSTANCE_INDEX = String(index);
    env.SR_PROCESSOR = workload.key;
    return {
      id: `${workload.key}/${index}/${c.name}`,
      command,
      args: [...commandArgs, ...(c.args ?? [])],
      env,
      cwd: c.workingDir ?? this.opts.cwd ?? process.cwd(),
      logFile: join(this.logDir, `${base}-${c.name}.log`),
      pidFile: join(dir, `${index}-${c.name}.pid`),
      hash,
    };
  }

  /** Ports per container of a slot: kept in a file so an adopted UDF keeps its port after a controller restart. */
  private async portsFor(file: string, names: string[]): Promise<Record<string, number>> {
    let ports: Record<string, number> = {};
    if (existsSync(file)) {
      try { ports = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>; } catch { ports = {}; }
    }
    for (const name of names) {
      if (!ports[name]) ports[name] = await this.reservePort();
      else this.reservedPorts.add(ports[name]);
    }
    writeFileSync(file, JSON.stringify(ports));
    return ports;
  }

  private async reservePort(): Promise<number> {
    for (;;) {
      const port = await kernelPort();
      if (!this.reservedPorts.has(port)) { this.reservedPorts.add(port); return port; }
    }
  }

  private async stopSlot(slot: Slot): Promise<void> {
    await Promise.all(slot.processes.map((p) => p.stop()));
  }
}

function kernelPort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** What a replica runs; any change restarts that replica. */
function slotHash(w: ProcessorWorkload, index: number): string {
  const what = { type: w.type, config: w.configs[index] ?? w.configs[0], containers: w.containers, udf: w.udf, env: w.scsEnv?.[index], credentials: w.credentials };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

function slotDir(key: string): string { return key.replace('/', '_'); }

function keyOfDir(dir: string): string | undefined {
  const i = dir.indexOf('_');
  return i > 0 ? `${dir.slice(0, i)}/${dir.slice(i + 1)}` : undefined;
}
