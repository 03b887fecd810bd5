// API server benchmarks (issue 2 "Performance"), each against the raw component measured in the same run:
//   1. creates/s through the API vs raw etcd3 compare-and-swap creates of the same objects, both at 32 concurrent
//      (target ratio >= 0.5; one write per etcd revision, the default), over HTTP/2 (32 streams of one connection,
//      as client-go and kubectl talk to us) and over HTTP/1.1 (a keep-alive pool of 32 connections), and the same
//      server with write coalescing on (--etcd-max-writes-per-txn 64, opt-in), to show what coalescing would be worth;
//   2. 20 watchers: every event delivered, p99 from request start to event arrival (target <= 50 ms), with the
//      creates paced at 100/s;
//   3. list of 3,000 objects: median (target <= 250 ms).
// Runs the real `sr apiserver` (dist/cli/sr.js) on a real etcd.
import { Agent, request as httpsRequest } from 'node:https';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { CompareResult, CompareTarget, Etcd3 } from 'etcd3';
import { startEtcd } from '../test/support/etcd';
import { startApiServer, type ApiServerHandle } from '../test/support/apiserver-server';

const G = 'streaming.tanzu.vmware.com';
const CONCURRENCY = 32;
const CREATES = 3000;
const WARMUP_CREATES = 2000;
const WATCHERS = 20;
const WATCH_EVENTS = 200;
/** Creates per second while the watchers listen (open loop). */
const WATCH_RATE_PER_SECOND = 100;
const LIST_RUNS = 15;

function streamObject(name: string): Record<string, unknown> {
  return {
    apiVersion: `${G}/v1alpha1`, kind: 'Stream',
    metadata: { name, labels: { bench: 'yes', shard: String(name.length % 7) } },
    spec: { protocol: 'kafka', name, keys: ['team', 'user'], partitionCount: 4, storage: { clusterStream: 'bench-cs' }, streamMode: ['read', 'write'] },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function pool(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) await task(next++);
  }));
}

function post(api: ApiServerHandle, agent: Agent, path: string, body: string, method = 'POST', contentType = 'application/json'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, api.url), { method, agent, headers: { authorization: `Bearer ${api.token}`, 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One HTTP/2 connection to a server, its requests multiplexed as streams (client-go's transport). */
function http2Session(server: ApiServerHandle): ClientHttp2Session {
  const session = http2Connect(server.url, { ca: server.caPem });
  // A connection-level error also fails every open stream, which is where it is reported.
  session.on('error', () => undefined);
  return session;
}

function post2(server: ApiServerHandle, session: ClientHttp2Session, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST', ':path': path,
      authorization: `Bearer ${server.token}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)),
    });
    let status = 0;
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.on('error', reject);
    stream.on('end', () => resolve(status));
    stream.resume();
    stream.end(body);
  });
}

/** Mean of a Prometheus histogram (sum / count) in a /metrics text. */
function histogramMean(metrics: string, name: string): number {
  const value = (suffix: string): number => Number(new RegExp(`^${name}_${suffix}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  return value('sum') / value('count');
}

async function main(): Promise<void> {
  const etcd = await startEtcd();
  // One server process by default: on a 2-core machine etcd and this client need the second core, and
  // `--workers 2` measured slower (SR_BENCH_API_WORKERS=N measures N workers on bigger machines).
  const workers = Number(process.env.SR_BENCH_API_WORKERS ?? 1);
  const api = await startApiServer({ etcdEndpoint: etcd.endpoint, etcdPrefix: '/registry', logLevel: 'error', extraArgs: ['--workers', String(workers)] });
  // The same server with write coalescing on (opt-in), on the same etcd: what coalescing is worth, in the same run.
  const apiAlone = await startApiServer({ etcdEndpoint: etcd.endpoint, logLevel: 'error', extraArgs: ['--workers', String(workers), '--etcd-max-writes-per-txn', '64'] });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: api.caPem });
  const agentAlone = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: apiAlone.caPem });
  const session = http2Session(api);
  const sessionAlone = http2Session(apiAlone);
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    // 1. Creates: raw etcd CAS creates of the same JSON (without server fields) vs through the API, alternating in
    // rounds so all paths see the same machine load (the machine is shared). Every path is warmed up first, in a
    // namespace the list below does not count, until it runs at its steady speed: V8's compilers and the gRPC and
    // HTTPS clients take about 1,500 requests to get there (after 500, both paths still ran at half speed).
    const rawCreate = async (namespace: string, i: number): Promise<void> => {
      const key = Buffer.from(`/raw/${G}/streams/${namespace}/raw-${i}`);
      const res = await client.kv.txn({
        compare: [{ key, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: '0' }],
        success: [{ request_put: { key, value: Buffer.from(JSON.stringify(streamObject(`raw-${i}`))) } }],
        failure: [],
      });
      if (!res.succeeded) throw new Error('raw create failed');
    };
    // Each API path creates in its own namespace: the HTTP/1.1 and HTTP/2 paths write to the same server.
    const apiCreate = (send: (path: string, body: string) => Promise<number>, prefix: string) => async (namespace: string, i: number): Promise<void> => {
      const code = await send(`/apis/${G}/v1alpha1/namespaces/${namespace}${prefix}/streams`, JSON.stringify(streamObject(`s-${i}`)));
      if (code !== 201) throw new Error(`API create: ${code}`);
    };
    const paths = [
      { name: 'raw', create: rawCreate, seconds: 0, failed: 0 },
      { name: 'api-http2', create: apiCreate((p, b) => post2(api, session, p, b), ''), seconds: 0, failed: 0 },
      { name: 'api-http1', create: apiCreate((p, b) => post(api, agent, p, b), '-http1'), seconds: 0, failed: 0 },
      { name: 'coalescing-http2', create: apiCreate((p, b) => post2(apiAlone, sessionAlone, p, b), ''), seconds: 0, failed: 0 },
    ];
    for (const path of paths) await pool(WARMUP_CREATES, CONCURRENCY, (i) => path.create('warmup', i));
    const ROUNDS = 3;
    const perRound = CREATES / ROUNDS;
    for (let round = 0; round < ROUNDS; round++) {
      const base = round * perRound;
      // Each round starts with a different path.
      for (const path of [...paths.slice(round), ...paths.slice(0, round)]) {
        const started = process.hrtime.bigint();
        await pool(perRound, CONCURRENCY, async (j) => {
          try { await path.create('bench', base + j); } catch { path.failed++; }
        });
        path.seconds += Number(process.hrtime.bigint() - started) / 1e9;
      }
    }
    const [rawRate, http2Rate, http1Rate, aloneRate] = paths.map((p) => CREATES / p.seconds);
    const failed = paths.reduce((n, p) => n + p.failed, 0);
    const writesPerTxn = histogramMean((await apiAlone.request('GET', '/metrics')).body, 'etcd_writes_per_transaction');
    console.log(`creates @${CONCURRENCY} (apiserver --workers ${workers}, one write per revision, after ${WARMUP_CREATES} warm-up creates per path): raw etcd3 CAS ${rawRate.toFixed(0)}/s; API over HTTP/2 (one connection, ${CONCURRENCY} streams, as client-go) ${http2Rate.toFixed(0)}/s, ratio ${(http2Rate / rawRate).toFixed(2)} (target >= 0.5); over HTTP/1.1 (${CONCURRENCY} keep-alive connections) ${http1Rate.toFixed(0)}/s, ratio ${(http1Rate / rawRate).toFixed(2)}${failed ? `; ${failed} FAILED` : ''}`);
    console.log(`  the same API server with write coalescing on (--etcd-max-writes-per-txn 64, opt-in), HTTP/2: ${aloneRate.toFixed(0)}/s, ratio ${(aloneRate / rawRate).toFixed(2)} (${writesPerTxn.toFixed(1)} writes per etcd transaction on average)`);
    if (process.env.SR_BENCH_CREATES_ONLY) return;
    sessionAlone.close();
    await apiAlone.stop();
    agentAlone.destroy();

    // 3. List of 3,000 objects (done before the watch part adds more).
    const listTimes: number[] = [];
    for (let i = 0; i < LIST_RUNS; i++) {
      const t0 = process.hrtime.bigint();
      const res = await api.request('GET', `/apis/${G}/v1alpha1/namespaces/bench/streams`);
      listTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (res.status !== 200 || res.json<{ items: unknown[] }>().items.length !== CREATES) throw new Error('list failed');
    }
    listTimes.sort((a, b) => a - b);
    const rawListStart = process.hrtime.bigint();
    await client.getAll().prefix(`/raw/${G}/streams/bench/`).strings();
    const rawListMs = Number(process.hrtime.bigint() - rawListStart) / 1e6;
    console.log(`list of ${CREATES}: median ${percentile(listTimes, 50).toFixed(1)} ms, p90 ${percentile(listTimes, 90).toFixed(1)} ms (target median <= 250 ms); raw etcd3 range ${rawListMs.toFixed(1)} ms`);

    // 2. 20 watchers; every event delivered; latency from request start to arrival.
    const startRv = (await api.request('GET', `/apis/${G}/v1alpha1/namespaces/watch/streams`)).json<{ metadata: { resourceVersion: string } }>().metadata.resourceVersion;
    const sentAt = new Map<string, number>();
    const createLatencies: number[] = [];
    const latencies: number[] = [];
    const received = Array.from({ length: WATCHERS }, () => new Set<string>());
    const watchAgent = new Agent({ keepAlive: true, maxSockets: WATCHERS, ca: api.caPem });
    const closers: (() => void)[] = [];
    await Promise.all(Array.from({ length: WATCHERS }, (_, w) => new Promise<void>((resolve, reject) => {
      const req = httpsRequest(new URL(`/apis/${G}/v1alpha1/namespaces/watch/streams?watch=1&resourceVersion=${startRv}`, api.url), { agent: watchAgent, headers: { authorization: `Bearer ${api.token}` } }, (res) => {
        let buffer = '';
        res.on('data', (chunk: Buffer) => {
          const now = performance.now();
          buffer += chunk.toString();
          let nl;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const event = JSON.parse(buffer.slice(0, nl)) as { type: string; object: { metadata: { name: string } } };
            buffer = buffer.slice(nl + 1);
            const name = event.object.metadata.name;
            const t = sentAt.get(name);
            if (t !== undefined && !received[w].has(name)) { received[w].add(name); latencies.push(now - t); }
          }
        });
        resolve();
      });
      req.on('error', reject);
      req.end();
      closers.push(() => req.destroy());
    })));
    await new Promise((r) => setTimeout(r, 200));
    // Writes at a steady pace, open loop (each create starts on schedule whether or not the previous ones have
    // answered), like a busy control plane: latency is measured at a stated load, not at saturation, where it would
    // only measure the queue (the creates/s figure above is the saturation measurement).
    const paceStart = performance.now();
    await Promise.all(Array.from({ length: WATCH_EVENTS }, (_, i) => new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        const name = `w-${i}`;
        sentAt.set(name, performance.now());
        post(api, agent, `/apis/${G}/v1alpha1/namespaces/watch/streams`, JSON.stringify(streamObject(name))).then((code) => {
          createLatencies.push(performance.now() - (sentAt.get(name) ?? 0));
          if (code !== 201) reject(new Error(`create ${name}: ${code}`)); else resolve();
        }, reject);
      }, Math.max(0, paceStart + (i * 1000) / WATCH_RATE_PER_SECOND - performance.now()));
    })));
    const deadline = Date.now() + 10_000;
    while (received.some((s) => s.size < WATCH_EVENTS) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const close of closers) close();
    watchAgent.destroy();
    const delivered = received.reduce((n, s) => n + s.size, 0);
    latencies.sort((a, b) => a - b);
    console.log(`watch: ${WATCHERS} watchers x ${WATCH_EVENTS} events (creates paced at ${WATCH_RATE_PER_SECOND}/s), delivered ${delivered}/${WATCHERS * WATCH_EVENTS}, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (target p99 <= 50 ms, every event delivered); the create requests themselves: p50 ${percentile(createLatencies.sort((a, b) => a - b), 50).toFixed(1)} ms, p99 ${percentile(createLatencies, 99).toFixed(1)} ms`);
  } finally {
    agent.destroy();
    agentAlone.destroy();
    session.close();
    sessionAlone.close();
    client.close();
    await apiAlone.stop();
    await api.stop();
    await etcd.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
