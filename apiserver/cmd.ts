// `sr apiserver`: flags named exactly as kube-apiserver's (those that apply), JSON logs (pino) to stderr.
import { parseArgs } from 'node:util';
import pino from 'pino';
import type { SecurityOptions } from './auth/types';
import { announceServing, clusterMetrics, currentWorkerId, runPrimary } from './cluster';
import { loadOrCreateServingCertificate } from './pki';
import { parseGoDuration } from './duration';
import { servingCertificateHosts, startApiServer } from './server';


const USAGE = `Usage: sr apiserver [flags]

The Streaming Runtime API server (ClusterStream, Stream, Processor) on etcd, used with kubectl like Kubernetes.

Storage:
  --etcd-servers strings                 etcd endpoints, comma separated (default http://127.0.0.1:2379)
  --etcd-prefix string                   key prefix in etcd (default /registry)
  --etcd-compaction-interval duration    interval of etcd history compaction, 0 disables (default 5m0s)
  --etcd-max-writes-per-txn int          concurrent writes sent to etcd as one transaction of nested
                                         compare-and-swaps, 1 to 127 (default 1: every write alone). Above 1,
                                         objects written together share a resourceVersion, and a client resuming
                                         a watch from one of them misses the others
Serving:
  --secure-port int                      HTTPS port (default 6443; 0 picks a free port)
  --bind-address ip                      address to listen on (default 0.0.0.0)
  --cert-dir string                      where the self-signed serving pair is kept when no --tls-cert-file is given
                                         (apiserver.crt/.key, ca.crt; default .sr/apiserver-certs)
  --tls-cert-file string                 serving certificate (PEM); reloaded when the file changes (new
                                         connections get the new pair; a broken pair is refused and logged)
  --tls-private-key-file string          its private key (PEM)
  --workers int                          server processes sharing the port, one core each (default 1); set it to
                                         the cores the server may use (kube-apiserver uses every core by itself)
Security:
  --token-auth-file string               static tokens CSV: token,user,uid,"group1,group2"
  --client-ca-file string                CA for client certificates (CN = user, O = groups); reloaded on change
  --authentication-kubeconfig string     delegated bearer-token authentication (TokenReview)
  --requestheader-client-ca-file string  front-proxy client CA
  --requestheader-allowed-names strings  front-proxy client certificate CNs (empty = any)
  --requestheader-username-headers strings   (default X-Remote-User)
  --requestheader-group-headers strings      (default X-Remote-Group)
  --requestheader-extra-headers-prefix strings (default X-Remote-Extra-)
  --anonymous-auth                       allow anonymous requests to discovery/health (default false)
  --authorization-mode strings           AlwaysAllow, RBAC, Webhook (default AlwaysAllow)
  --authorization-policy-file string     RBAC objects (YAML) for --authorization-mode=RBAC
  --authorization-kubeconfig string      SubjectAccessReview webhook
  --audit-log-path string                audit events (JSON lines), "-" for stdout
  --audit-policy-file string             audit.k8s.io/v1 Policy: levels None, Metadata, Request, RequestResponse
                                         per user, group, verb, resource, namespace, path; with it the log holds
                                         audit.k8s.io/v1 Events (without it, one flat line per request, Metadata)
  --max-requests-inflight int            read-only requests admitted at once, queued or served (default 400)
  --max-mutating-requests-inflight int   mutating requests admitted at once, queued or served (default 200)
Overload and slow clients:
  --fair-queue-seats int                 requests served at once, shared fairly between users: a user's
                                         requests wait in its own queue, turns go round robin (default 32;
                                         0 = no queueing); watches and system:masters are exempt
  --fair-queue-length int                requests one user may have waiting for a seat, more are 429 (default 50)
  --request-timeout duration             deadline of every request but watches, then 504 (default 1m0s)
  --request-body-timeout duration        deadline for a request body to arrive, then 408 (default 30s)
  --min-request-timeout int              seconds: a watch without timeoutSeconds lasts between this and twice
                                         this; no watch lasts longer than twice this (default 1800)
  --max-watchers-per-user int            watches one user may hold open, more are 429 (default 100; 0 = no cap)
  --max-watch-buffer-bytes int           a watcher whose client lets more than this wait unread is cut off
                                         (default 16777216)
Logging:
  --log-level string                     trace, debug, info, warn, error (default info)
`;

function list(values: string[] | undefined): string[] | undefined {
  if (!values) return undefined;
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`invalid value for --${flag}: ${value}`);
  return Number(value);
}

function boolFlag(value: string | boolean | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  return value === 'true' || value === '1';
}

export async function main(argv: string[]): Promise<void> {
  // `--flag=value` and `--flag value` both work (parseArgs); booleans accept `--anonymous-auth=false`.
  const normalized = argv.map((a) => (a === '--anonymous-auth' ? '--anonymous-auth=true' : a));
  const { values } = parseArgs({
    args: normalized,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      'etcd-servers': { type: 'string', multiple: true },
      'etcd-prefix': { type: 'string' },
      'etcd-compaction-interval': { type: 'string' },
      'etcd-max-writes-per-txn': { type: 'string' },
      'secure-port': { type: 'string' },
      'bind-address': { type: 'string' },
      'cert-dir': { type: 'string' },
      'tls-cert-file': { type: 'string' },
      'tls-private-key-file': { type: 'string' },
      'token-auth-file': { type: 'string' },
      'client-ca-file': { type: 'string' },
      'authentication-kubeconfig': { type: 'string' },
      'requestheader-client-ca-file': { type: 'string' },
      'requestheader-allowed-names': { type: 'string', multiple: true },
      'requestheader-username-headers': { type: 'string', multiple: true },
      'requestheader-group-headers': { type: 'string', multiple: true },
      'requestheader-extra-headers-prefix': { type: 'string', multiple: true },
      'anonymous-auth': { type: 'string' },
      'authorization-mode': { type: 'string', multiple: true },
      'authorization-policy-file': { type: 'string' },
      'authorization-kubeconfig': { type: 'string' },
      'audit-log-path': { type: 'string' },
      'audit-policy-file': { type: 'string' },
      'max-requests-inflight': { type: 'string' },
      'max-mutating-requests-inflight': { type: 'string' },
      'fair-queue-seats': { type: 'string' },
      'fair-queue-length': { type: 'string' },
      'request-timeout': { type: 'string' },
      'request-body-timeout': { type: 'string' },
      'min-request-timeout': { type: 'string' },
      'max-watchers-per-user': { type: 'string' },
      'max-watch-buffer-bytes': { type: 'string' },
      'log-level': { type: 'string' },
      workers: { type: 'string' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const workerId = currentWorkerId();
  const logger = pino({ level: values['log-level'] ?? 'info', base: { component: 'apiserver', ...(workerId !== undefined ? { worker: workerId } : {}) } }, pino.destination({ fd: 2, sync: true }));
  const workers = integer(values.workers, 'workers') ?? 1;
  if (workers < 1) throw new Error('--workers must be at least 1');
  const maxWritesPerTxn = integer(values['etcd-max-writes-per-txn'], 'etcd-max-writes-per-txn');
  // etcd's --max-txn-ops (128 by default) counts the batch's writes plus the operations of each nested transaction.
  if (maxWritesPerTxn !== undefined && (maxWritesPerTxn < 1 || maxWritesPerTxn > 127)) throw new Error('--etcd-max-writes-per-txn must be between 1 and 127');
  const bindAddress = values['bind-address'] ?? '0.0.0.0';
  const certDir = values['cert-dir'] ?? '.sr/apiserver-certs';
  if (workers > 1 && workerId === undefined) {
    // Workers start together: the self-signed pair is created once, here, not raced by N processes.
    if (!(values['tls-cert-file'] && values['tls-private-key-file'])) loadOrCreateServingCertificate(certDir, servingCertificateHosts(bindAddress));
    parseGoDuration(values['etcd-compaction-interval'] ?? '5m0s'); // flag errors surface here, not in N workers
    process.exit(await runPrimary({ workers, logger, onServing: (url) => process.stdout.write(`${JSON.stringify({ serving: url })}\n`) }));
  }
  process.on('uncaughtException', (err) => {
    logger.fatal({ err: { message: err.message, stack: err.stack } }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? { message: reason.message, stack: reason.stack } : String(reason) }, 'unhandled rejection');
  });
  const requestTimeoutMs = parseGoDuration(values['request-timeout'] ?? '1m0s');
  const security: SecurityOptions = {
    tokenAuthFile: values['token-auth-file'],
    clientCaFile: values['client-ca-file'],
    authenticationKubeconfig: values['authentication-kubeconfig'],
    requestheaderClientCaFile: values['requestheader-client-ca-file'],
    requestheaderAllowedNames: list(values['requestheader-allowed-names']),
    requestheaderUsernameHeaders: list(values['requestheader-username-headers']),
    requestheaderGroupHeaders: list(values['requestheader-group-headers']),
    requestheaderExtraHeadersPrefix: list(values['requestheader-extra-headers-prefix']),
    anonymousAuth: boolFlag(values['anonymous-auth']),
    authorizationMode: list(values['authorization-mode']),
    authorizationPolicyFile: values['authorization-policy-file'],
    authorizationKubeconfig: values['authorization-kubeconfig'],
    auditLogPath: values['audit-log-path'],
    auditPolicyFile: values['audit-policy-file'],
    maxRequestsInflight: integer(values['max-requests-inflight'], 'max-requests-inflight'),
    maxMutatingRequestsInflight: integer(values['max-mutating-requests-inflight'], 'max-mutating-requests-inflight'),
    fairQueueSeats: integer(values['fair-queue-seats'], 'fair-queue-seats'),
    fairQueueLengthPerUser: integer(values['fair-queue-length'], 'fair-queue-length'),
    // Like APF: a request waits for its turn at most a quarter of its deadline.
    fairQueueMaxWaitMs: requestTimeoutMs > 0 ? requestTimeoutMs / 4 : undefined,
  };
  const minRequestTimeoutSeconds = integer(values['min-request-timeout'], 'min-request-timeout');
  if (minRequestTimeoutSeconds === 0) throw new Error('--min-request-timeout must be at least 1');
  const server = await startApiServer({
    etcdServers: list(values['etcd-servers']) ?? ['http://127.0.0.1:2379'],
    etcdPrefix: values['etcd-prefix'] ?? '/registry',
    securePort: integer(values['secure-port'], 'secure-port') ?? 6443,
    bindAddress,
    certDir,
    tlsCertFile: values['tls-cert-file'],
    tlsPrivateKeyFile: values['tls-private-key-file'],
    security,
    etcdMaxWritesPerTxn: maxWritesPerTxn,
    requestTimeoutMs,
    requestBodyTimeoutMs: parseGoDuration(values['request-body-timeout'] ?? '30s'),
    minRequestTimeoutSeconds,
    maxWatchersPerUser: integer(values['max-watchers-per-user'], 'max-watchers-per-user'),
    maxWatchBufferBytes: integer(values['max-watch-buffer-bytes'], 'max-watch-buffer-bytes'),
    // One compactor per etcd prefix: under --workers, worker 0 (restarted with the same index if it dies).
    compactionIntervalMs: workerId === undefined || workerId === 0 ? parseGoDuration(values['etcd-compaction-interval'] ?? '5m0s') : 0,
    // Likewise one garbage collector: every worker would plan from the same state and race to carry it out.
    garbageCollector: workerId === undefined || workerId === 0,
    logger,
    aggregateMetrics: workerId !== undefined ? clusterMetrics : undefined,
  });
  // One machine-readable line on stdout so supervisors (tests, `sr up`) learn the address without parsing logs.
  if (workerId !== undefined) announceServing(server.url);
  else process.stdout.write(`${JSON.stringify({ serving: server.url })}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
