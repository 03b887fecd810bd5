// Runs the real `sr up` as a child process (its own process group) for end-to-end tests, plus helpers to use it:
// kubectl with its kubeconfig, the dev Kafka it started, waiting for Ready, and the pids it supervises.
// `useSrUp()` gives a test file one `sr up` and a data client on its dev Kafka for all its tests.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { KafkaData } from './controllers-data';
import { freePort, waitFor } from './ports';
import { tempDir } from './tmp';

const run = promisify(execFile);
export const SR_ENTRY = resolve(__dirname, '..', '..', 'cli', 'sr.js');
export const FIXTURES = resolve(__dirname, '..', '..', '..', 'test', 'fixtures');

export interface UpHandle {
  dir: string;
  port: number;
  kubeconfig: string;
  kafkaBootstrap: string;
  kafkaControl: string;
  process: ChildProcess;
  output(): string;
  kubectl(...args: string[]): Promise<string>;
  /** kubectl apply -f - with the given YAML text. */
  apply(yaml: string): Promise<string>;
  getJson<T>(resource: string, namespace?: string): Promise<T>;
  waitReady(resource: string, name: string, timeoutMs?: number, namespace?: string): Promise<void>;
  /** Pids recorded by the local runtime for a Processor (processor and UDF processes). */
  processorPids(namespace: string, name: string): { slot: string; pid: number }[];
  /** Pids of every live process the local runtime started (all Processors). */
  processorPidsAll(): number[];
  componentPid(name: 'etcd' | 'apiserver' | 'controllers'): number | undefined;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

function readPid(file: string): number | undefined {
  try { return (JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid; } catch { return undefined; }
}

export async function startUp(opts: { dir?: string; port?: number; timeoutMs?: number } = {}): Promise<UpHandle> {
  const tmp = opts.dir ? undefined : tempDir('sr-up-');
  const dir = opts.dir ?? tmp!.path;
  const port = opts.port ?? await freePort();
  let out = '';
  // A previous run's marker must not be mistaken for this run's.
  rmSync(join(dir, 'run', 'ready'), { force: true });
  const child = spawn(process.execPath, [SR_ENTRY, 'up', '--dir', dir, '--port', String(port), '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor('sr up ready', () => {
    if (child.exitCode !== null) throw new Error(`sr up exited: ${out}`);
    return existsSync(join(dir, 'run', 'ready'));
  }, opts.timeoutMs ?? 120_000, 100).catch((err: unknown) => { throw new Error(`${String(err)}\n${out}`); });
  const kafka = JSON.parse(readFileSync(join(dir, 'run', 'kafka.json'), 'utf8')) as { bootstrap: string; control: string };
  const kubeconfig = join(dir, 'kubeconfig');
  const kubectl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  };
  const handle: UpHandle = {
    dir, port, kubeconfig, kafkaBootstrap: kafka.bootstrap, kafkaControl: kafka.control, process: child,
    output: () => out,
    kubectl,
    apply: async (yaml) => {
      return new Promise((res, rej) => {
        const p = spawn('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
        let o = '';
        p.stdout.on('data', (d: Buffer) => { o += d.toString(); });
        p.stderr.on('data', (d: Buffer) => { o += d.toString(); });
        p.on('exit', (code) => (code === 0 ? res(o) : rej(new Error(`kubectl apply failed (${code}): ${o}`))));
        p.stdin.end(yaml);
      });
    },
    getJson: async <T>(resource: string, namespace = 'default'): Promise<T> => JSON.parse(await kubectl('get', resource, '-n', namespace, '-o', 'json')) as T,
    waitReady: async (resource, name, timeoutMs = 60_000, namespace = 'default') => {
      let last = '';
      await waitFor(`${resource}/${name} Ready`, async () => {
        const obj = await handle.getJson<{ status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } }>(`${resource}/${name}`, namespace);
        const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
        last = JSON.stringify(ready);
        return ready?.status === 'True';
      }, timeoutMs, 200).catch((err: unknown) => { throw new Error(`${String(err)}; last condition ${last}`); });
    },
    processorPids: (namespace, name) => {
      const d = join(dir, 'run', 'processors', `${namespace}_${name}`);
      if (!existsSync(d)) return [];
      return readdirSync(d).filter((f) => f.endsWith('.pid')).map((f) => ({ slot: f.replace(/\.pid$/, ''), pid: readPid(join(d, f)) ?? 0 })).filter((p) => p.pid > 0);
    },
    processorPidsAll: () => {
      const root = join(dir, 'run', 'processors');
      if (!existsSync(root)) return [];
      return readdirSync(root).flatMap((d) => {
        const [ns, ...rest] = d.split('_');
        return handle.processorPids(ns, rest.join('_')).map((p) => p.pid);
      }).filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
    },
    componentPid: (name) => readPid(join(dir, 'run', `${name}.pid`)),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 30_000);
      await exited;
      clearTimeout(timer);
    },
    destroy: async () => { await handle.stop(); tmp?.remove(); },
  };
  return handle;
}

/** One `sr up` shared by the tests of a file, with a Kafka data client on its dev cluster: started in a `before`
 *  hook, stopped (and its directory removed) in an `after` hook. Read `up`/`kafka` inside tests and hooks. */
export interface SrUp {
  readonly up: UpHandle;
  readonly kafka: KafkaData;
}

export function useSrUp(): SrUp {
  let up: UpHandle | undefined;
  let kafka: KafkaData | undefined;
  before(async () => {
    up = await startUp();
    kafka = new KafkaData(up.kafkaBootstrap);
  });
  after(async () => {
    await kafka?.close();
    await up?.destroy();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('sr up is not running: use it inside tests (useSrUp starts it in a before hook)');
    return value;
  };
  return {
    get up(): UpHandle { return started(up); },
    get kafka(): KafkaData { return started(kafka); },
  };
}
