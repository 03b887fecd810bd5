// `sr up`: the whole system on one machine. Starts etcd (data in DIR/etcd), the API server (HTTPS on --port,
// certificates in DIR/pki), the controllers with the local runtime and — unless --kafka-brokers is given — the
// dev Kafka-protocol cluster (hack/bin/kafka-mock) and — unless --schema-registry-url is given — the development schema
// registry (cli/schema-registry); writes DIR/kubeconfig (verifies the server's CA; admin token).
// Every component runs in its own process group with its log in DIR/logs, and is restarted if it dies.
// Ctrl-C / SIGTERM stops everything (processors included). Running it again on the same DIR resumes the state.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { loadOrCreateServingCertificate } from '../apiserver/pki';
import { SupervisedProcess, isAlive, killRecorded } from '../controllers/runtime/local/supervisor';
import { DEFAULT_REGISTRY_PORT } from './schema-registry/cmd';
import { LIFELINE_ENV } from './lifeline';

const USAGE = `Usage: sr up [flags]

Runs etcd, the API server, the controllers (local runtime) and, for development, a Kafka-protocol cluster and a
schema registry.

  --dir DIR              state directory: etcd data, certificates, kubeconfig, logs (default .sr)
  --port PORT            API server HTTPS port (default 6443)
  --rabbitmq-url URL     RabbitMQ for rabbitmq Streams (default amqp://guest:guest@127.0.0.1:5672)
  --kafka-brokers LIST   Kafka bootstrap servers; absent: start the embedded dev cluster (hack/bin/kafka-mock)
  --schema-registry-url URL
                         a Confluent schema registry; absent: start the development registry
                         (sr schema-registry, state in DIR/schema-registry)
  --schema-registry-port PORT
                         the development registry's port (default: the previous run's, else 8081
                         if free, else any free port)
  --images FILE          image map: container images -> local commands (repeatable; before DIR/images.yaml)
  --log-level LEVEL      components' log level (default info)
`;

const ROOT = resolve(__dirname, '..', '..');
const SR_ENTRY = resolve(__dirname, 'sr.js');
const KAFKA_MOCK = join(ROOT, 'hack', 'bin', 'kafka-mock');

interface Ports { etcdClient: number; etcdPeer: number }

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

function say(line: string): void { process.stdout.write(`${line}\n`); }

/** The development registry's port: --schema-registry-port if given; else the port it had last time (clients and
 *  processors keep working across restarts), else 8081 (Confluent's) when free, else any free port. */
async function chooseRegistryPort(flag: string | undefined, runDir: string): Promise<number> {
  if (flag !== undefined) {
    const port = Number(flag);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--schema-registry-port must be a port number, not "${flag}"`);
    return port === 0 ? freePort() : port;
  }
  const file = join(runDir, 'schema-registry.json');
  let previous: number | undefined;
  try {
    const url = new URL((JSON.parse(readFileSync(file, 'utf8')) as { url: string }).url);
    if (url.hostname === '127.0.0.1') previous = Number(url.port);
  } catch {
    previous = undefined;
  }
  // A registry left running by a killed `sr up` holds its port: it is adopted (same command), so the port is ours.
  if (previous && ((await portIsFree(previous)) || existsSync(join(runDir, 'schema-registry.pid')))) return previous;
  if (await portIsFree(DEFAULT_REGISTRY_PORT)) return DEFAULT_REGISTRY_PORT;
  return freePort();
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number, failed?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const why = failed?.();
    if (why) throw new Error(`${what}: ${why}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs / 1000} s`);
}

function httpsOk(url: string, ca: string, token: string): Promise<boolean> {
  return new Promise((res) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` }, timeout: 2000 }, (r) => { r.resume(); res((r.statusCode ?? 500) < 300); });
    req.on('error', () => res(false));
    req.on('timeout', () => { req.destroy(); res(false); });
    req.end();
  });
}

function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dir: { type: 'string', default: '.sr' },
      port: { type: 'string', default: '6443' },
      'rabbitmq-url': { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
      'kafka-brokers': { type: 'string' },
      'schema-registry-url': { type: 'string' },
      'schema-registry-port': { type: 'string' },
      images: { type: 'string', multiple: true },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(USAGE); return; }
  for (const f of values.images ?? []) if (!existsSync(f)) throw new Error(`--images ${f}: no such file`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, not "${values.port}"`);
  const dir = resolve(values.dir);
  const runDir = join(dir, 'run');
  const logDir = join(dir, 'logs');
  for (const d of [dir, runDir, logDir, join(dir, 'etcd'), join(dir, 'pki')]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;

  // One `sr up` per directory; a previous one that was killed -9 leaves processes we take over or stop.
  const upPidFile = join(runDir, 'up.pid');
  const previous = existsSync(upPidFile) ? Number(readFileSync(upPidFile, 'utf8')) : NaN;
  if (Number.isInteger(previous) && previous !== process.pid && isAlive(previous)) {
    throw new Error(`another "sr up" (pid ${previous}) is running on ${dir}; stop it first`);
  }
  writeFileSync(upPidFile, String(process.pid));
  // Nothing may outlive `sr up`, even killed with -9 (no handler runs then): every `sr` process below watches this
  // pid (inherited through the controllers by processors), and a watchdog reading a pipe from us stops whatever
  // the pid files record once the pipe closes (etcd and UDF commands cannot watch anything). See cli/lifeline.ts.
  process.env[LIFELINE_ENV] = String(process.pid);
  const watchdog = spawn(process.execPath, [join(__dirname, 'lifeline.js'), runDir, String(process.pid)], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  watchdog.on('error', (err) => say(`! the process watchdog did not start (${err.message}): a "kill -9" of sr up would leave processes behind`));
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  rmSync(join(runDir, 'ready'), { force: true });

  // Ports: etcd keeps its ports across runs (its data remembers the peer URL).
  const portsFile = join(runDir, 'ports.json');
  let ports: Ports | undefined;
  if (existsSync(portsFile)) {
    const saved = JSON.parse(readFileSync(portsFile, 'utf8')) as Ports;
    // A leftover etcd of a killed `sr up` still holds them: it is adopted below, so they count as ours.
    ports = saved;
  }
  if (!ports || (!(await portIsFree(ports.etcdClient)) && !existsSync(join(runDir, 'etcd.pid')))) {
    ports = { etcdClient: await freePort(), etcdPeer: await freePort() };
  }
  writeFileSync(portsFile, JSON.stringify(ports));

  // Certificates and identities.
  say(`▸ certificates in ${join(dir, 'pki')}`);
  const serving = loadOrCreateServingCertificate(join(dir, 'pki'));
  const tokenFile = join(dir, 'pki', 'tokens.csv');
  if (!existsSync(tokenFile)) {
    const admin = randomBytes(24).toString('hex');
    const controllers = randomBytes(24).toString('hex');
    writeFileSync(tokenFile, `${admin},admin,admin,"system:masters"\n${controllers},system:sr-controllers,sr-controllers,"system:masters"\n`, { mode: 0o600 });
  }
  const [adminToken, controllersToken] = readFileSync(tokenFile, 'utf8').trim().split('\n').map((l) => l.split(',')[0]);
  const server = `https://127.0.0.1:${port}`;
  const kubeconfig = (user: string, token: string): string => stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'sr', cluster: { server, 'certificate-authority-data': Buffer.from(serving.caPem).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'sr', context: { cluster: 'sr', user, namespace: 'default' } }],
    'current-context': 'sr',
  });
  const kubeconfigFile = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigFile, kubeconfig('admin', adminToken), { mode: 0o600 });
  const controllersKubeconfig = join(runDir, 'controllers.kubeconfig');
  writeFileSync(controllersKubeconfig, kubeconfig('sr-controllers', controllersToken), { mode: 0o600 });

  const components: SupervisedProcess[] = [];
  let kafkaMock: ChildProcess | undefined;
  let stopping = false;
  const component = (name: string, command: string, args: string[]): SupervisedProcess => {
    const p = new SupervisedProcess({
      id: `up/${name}`, command, args, env: {},
      logFile: join(logDir, `${name}.log`), pidFile: join(runDir, `${name}.pid`),
      hash: createHash('sha256').update(JSON.stringify([command, args])).digest('hex').slice(0, 16),
    }, {
      initialBackoffMs: 200,
      onExit: (id, code, signal) => { if (!stopping) say(`! ${id.slice(3)} exited (${code ?? signal ?? 'unknown'}); restarting — see ${join(logDir, `${name}.log`)}`); },
    });
    components.push(p);
    p.start();
    return p;
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    // Reverse order: controllers (they stop the processors), API server, etcd, Kafka.
    for (const p of [...components].reverse()) await p.stop();
    if (kafkaMock && kafkaMock.exitCode === null) {
      const mock = kafkaMock;
      await new Promise<void>((r) => { mock.once('exit', () => r()); mock.stdin?.end(); mock.kill('SIGTERM'); });
    }
    // Anything a killed controller left behind.
    const processorsDir = join(runDir, 'processors');
    if (existsSync(processorsDir)) {
      for (const d of readdirSync(processorsDir)) {
        const sub = join(processorsDir, d);
        for (const f of readdirSync(sub)) if (f.endsWith('.pid')) killRecorded(join(sub, f));
      }
    }
    rmSync(join(runDir, 'ready'), { force: true });
    rmSync(upPidFile, { force: true });
  };
  let shuttingDown: Promise<void> | undefined;
  const onSignal = (signal: string): void => {
    if (shuttingDown) return;
    say(`\n▸ ${signal}: stopping everything`);
    shuttingDown = stopAll().then(() => { say('▸ stopped'); process.exit(0); });
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGHUP', () => onSignal('SIGHUP'));

  // Printed at the end with the other addresses.
  let kafkaAddress = '';
  let registryAddress = '';
  try {
    // etcd
    say(`▸ etcd on 127.0.0.1:${ports.etcdClient} (data ${join(dir, 'etcd')})`);
    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const etcd = component('etcd', 'etcd', [
      '--name', 'sr', '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', `http://127.0.0.1:${ports.etcdPeer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${ports.etcdPeer}`,
      '--initial-cluster', `sr=http://127.0.0.1:${ports.etcdPeer}`, '--log-level', 'warn',
    ]);
    await waitUntil('etcd', async () => (await fetch(`${etcdUrl}/health`)).ok, 30_000, () => (etcd.restarts > 3 ? tail(etcd.spec.logFile) : undefined));
    say(`  ready (${elapsed()})`);

    // Kafka
    let kafkaBrokers = values['kafka-brokers'];
    let kafkaControl: string | undefined;
    if (!kafkaBrokers) {
      if (!existsSync(KAFKA_MOCK)) throw new Error(`${KAFKA_MOCK} is missing: run hack/setup.sh (or pass --kafka-brokers)`);
      say('▸ Kafka: embedded dev cluster (hack/bin/kafka-mock)');
      const fd = openSync(join(logDir, 'kafka-mock.log'), 'a');
      const mock = spawn(KAFKA_MOCK, ['--brokers', '3'], { stdio: ['pipe', 'pipe', fd], detached: true });
      closeSync(fd);
      kafkaMock = mock;
      const first = await new Promise<string>((res, rej) => {
        mock.once('error', rej);
        mock.once('exit', (code) => rej(new Error(`kafka-mock exited (${code}); see ${join(logDir, 'kafka-mock.log')}`)));
        createInterface({ input: mock.stdout! }).once('line', res);
      });
      const info = JSON.parse(first) as { bootstrap: string; control: string };
      kafkaBrokers = info.bootstrap;
      kafkaControl = info.control;
      mock.on('exit', (code) => { if (!stopping) say(`! kafka-mock exited (${code}); Kafka streams stop working — restart sr up`); });
      writeFileSync(join(runDir, 'kafka.json'), JSON.stringify(info));
      say(`  bootstrap ${kafkaBrokers} (${elapsed()})`);
    } else {
      rmSync(join(runDir, 'kafka.json'), { force: true });
    }

    // Schema registry: the development one (a component like the others, state in DIR/schema-registry) unless a
    // real one is named. Its URL goes to the controllers (processors, FSQL, in-cluster registry addresses) and to
    // `sr generate` (DIR/run/schema-registry.json).
    let schemaRegistryUrl = values['schema-registry-url'];
    if (!schemaRegistryUrl) {
      let registryPort = await chooseRegistryPort(values['schema-registry-port'], runDir);
      const registryDir = join(dir, 'schema-registry');
      say(`▸ schema registry: development registry (state ${registryDir})`);
      // A port found free can be taken before the registry binds it (another `sr up` starting at the same moment):
      // then, unless the port was asked for, another free port is tried.
      for (let attempt = 1; ; attempt++) {
        const url = `http://127.0.0.1:${registryPort}`;
        const registry = component('schema-registry', process.execPath, [SR_ENTRY, 'schema-registry', '--port', String(registryPort), '--dir', registryDir]);
        const inUse = (): boolean => registry.restarts > 0 && /EADDRINUSE/.test(tail(registry.spec.logFile, 5));
        try {
          // Ours answering, not another registry that took the port (it says which process it is).
          const ours = async (): Promise<boolean> => {
            const res = await fetch(`${url}/config`);
            return res.ok && res.headers.get('x-sr-instance') === String(registry.processId);
          };
          await waitUntil('schema registry', ours, 30_000, () => {
            if (inUse() && values['schema-registry-port'] === undefined && attempt < 3) return 'EADDRINUSE';
            return registry.restarts > 3 ? tail(registry.spec.logFile) : undefined;
          });
          schemaRegistryUrl = url;
          break;
        } catch (err) {
          if (!(err instanceof Error && err.message.endsWith(': EADDRINUSE'))) throw err;
          await registry.stop();
          components.splice(components.indexOf(registry), 1);
          registryPort = await freePort();
        }
      }
      say(`  ${schemaRegistryUrl} ready (${elapsed()})`);
    } else {
      say(`▸ schema registry: ${schemaRegistryUrl.replace(/\/\/[^/@]*@/, '//***@')}`);
    }
    writeFileSync(join(runDir, 'schema-registry.json'), JSON.stringify({ url: schemaRegistryUrl }), { mode: 0o600 });
    kafkaAddress = kafkaBrokers;
    registryAddress = schemaRegistryUrl.replace(/\/\/[^/@]*@/, '//***@');

    // API server
    say(`▸ API server on ${server}`);
    const apiserver = component('apiserver', process.execPath, [
      SR_ENTRY, 'apiserver',
      '--etcd-servers', etcdUrl, '--secure-port', String(port), '--bind-address', '127.0.0.1',
      '--tls-cert-file', serving.certFile, '--tls-private-key-file', serving.keyFile,
      '--token-auth-file', tokenFile, '--authorization-mode', 'AlwaysAllow', '--log-level', values['log-level'],
    ]);
    await waitUntil('API server', () => httpsOk(`${server}/apis/streaming.tanzu.vmware.com/v1alpha1`, serving.caPem, adminToken), 60_000,
      () => (apiserver.restarts > 3 ? tail(apiserver.spec.logFile) : undefined));
    say(`  ready (${elapsed()})`);

    // Controllers
    say('▸ controllers (local runtime)');
    component('controllers', process.execPath, [
      SR_ENTRY, 'controllers', '--kubeconfig', controllersKubeconfig, '--runtime', 'local', '--state-dir', dir,
      '--rabbitmq-url', values['rabbitmq-url'], '--kafka-brokers', kafkaBrokers,
      ...(kafkaControl ? ['--kafka-mock-control', kafkaControl] : []),
      '--schema-registry-url', schemaRegistryUrl,
      // Absolute: the controllers resolve relative paths against their own working directory.
      ...(values.images ?? []).flatMap((f) => ['--images', resolve(f)]),
      '--log-level', values['log-level'],
    ]);
    say(`  started (${elapsed()})`);
  } catch (err) {
    say(`✗ ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exitCode = 1;
    return;
  }

  say(`
Streaming Runtime is up (${elapsed()}).

  kubectl --kubeconfig ${kubeconfigFile} apply -f examples/pipeline.yaml
  kubectl --kubeconfig ${kubeconfigFile} get srcs,srs,srp
  node ${SR_ENTRY} logs <processor> --dir ${dir} -f

  Kafka:  ${kafkaAddress}   Schema registry: ${registryAddress}
  Data:   node ${SR_ENTRY} generate -f <data-generator.yaml> --dir ${dir}

  Logs:   ${logDir}/{etcd,apiserver,controllers,kafka-mock,schema-registry}.log, processors in ${logDir}/<ns>_<name>-<i>.log
  State:  ${dir} (run again with --dir ${values.dir} to resume)
  Press Ctrl-C to stop everything.
`);
  writeFileSync(join(runDir, 'ready'), new Date().toISOString());
  await new Promise<never>(() => undefined);
}
