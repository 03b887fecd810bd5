// The Kubernetes objects of a Processor: ConfigMap (processor configuration per instance), Deployment — or
// StatefulSet + headless Service for partitioned input / forceStatefulSet (ordinal = instance index) — with the
// processor container, UDF sidecars (SRP) or the application containers with the Spring Cloud Stream env (SCS).
// FSQL is our own processor running streaming SQL (the configuration carries the statements): the same objects as
// an SRP without sidecars, no Flink. Pure functions over the workload.
import type { Container, EnvVar } from '../../../crds/types';
import { API_VERSION } from '../../../crds/types';
import type { ProcessorWorkload } from '../types';
import { PROCESSOR_LABEL } from '../../../crds/types';

/** A Kubernetes object as plain JSON (what the API accepts). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; ownerReferences?: OwnerRef[]; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface OwnerRef { apiVersion: string; kind: string; name: string; uid: string; controller: boolean; blockOwnerDeletion: boolean }

export interface KubernetesRuntimeSettings {
  /** Image with the `sr` CLI (runs `sr processor`). */
  processorImage: string;
  httpPort: number;
}

export const DEFAULT_SETTINGS: KubernetesRuntimeSettings = {
  processorImage: 'ghcr.io/streaming-runtime/sr:0.1.0',
  httpPort: 8080,
};

export { PROCESSOR_LABEL };
const CONFIG_MOUNT = '/etc/sr';
/** The processor's window state directory (srp.window.state: ROCKSDB): an emptyDir of the pod. The processor empties
 *  it at start anyway (the brokers redeliver unacknowledged window events), so it needs no persistence — only disk. */
export const STATE_MOUNT = '/var/lib/sr/state';

export function workloadName(w: ProcessorWorkload): string {
  return `srp-${w.name}`;
}

/** The Secret holding the credentials the controllers know for this Processor (workload.credentials). */
export function credentialsSecretName(name: string): string {
  return `srp-${name}-credentials`;
}

/** Environment entries reading credentials from Secrets: the Streams' binding Secrets, then the Processor's own
 *  credentials Secret for the rest (a binding Secret wins for the same variable). */
function credentialEnv(w: ProcessorWorkload): Record<string, unknown>[] {
  const fromBindings = w.secretEnv ?? [];
  const taken = new Set(fromBindings.map((s) => s.env));
  const own = Object.keys(w.credentials ?? {}).filter((env) => !taken.has(env));
  return [
    ...fromBindings.map((s) => ({ name: s.env, valueFrom: { secretKeyRef: { name: s.secret, key: s.key } } })),
    ...own.map((env) => ({ name: env, valueFrom: { secretKeyRef: { name: credentialsSecretName(w.name), key: env } } })),
  ];
}

export function labelsFor(w: ProcessorWorkload): Record<string, string> {
  return {
    'app.kubernetes.io/name': w.type === 'FSQL' ? 'sql-processor' : w.type === 'SCS' ? 'scs-processor' : 'srp-processor',
    'app.kubernetes.io/instance': w.name,
    'app.kubernetes.io/component': 'processor',
    'app.kubernetes.io/part-of': 'streaming-runtime',
    'app.kubernetes.io/managed-by': 'sr-controllers',
    [PROCESSOR_LABEL]: w.name,
  };
}

function meta(w: ProcessorWorkload, name: string): KubeObject['metadata'] {
  return {
    name,
    namespace: w.namespace,
    labels: labelsFor(w),
    ...(w.uid ? { ownerReferences: [{ apiVersion: API_VERSION, kind: 'Processor', name: w.name, uid: w.uid, controller: true, blockOwnerDeletion: true }] } : {}),
  };
}

/** Every object the workload needs, in creation order (ConfigMap and Service before the workload). */
export function buildObjects(w: ProcessorWorkload, settings: KubernetesRuntimeSettings = DEFAULT_SETTINGS): KubeObject[] {
  const name = workloadName(w);
  const objects: KubeObject[] = [];
  const selector = { [PROCESSOR_LABEL]: w.name };
  const podLabels = labelsFor(w);
  let containers: Record<string, unknown>[];
  const volumes: Record<string, unknown>[] = [];

  if (w.type === 'SRP' || w.type === 'FSQL') {
    const data: Record<string, string> = {};
    w.configs.forEach((c, i) => {
      const config = structuredClone(c);
      if (config.udf && w.udf) config.udf.address = `127.0.0.1:${w.udf.podPort}`;
      config.http = { port: settings.httpPort };
      config.stateDir = STATE_MOUNT;
      data[`config-${i}.json`] = JSON.stringify(config, null, 2);
    });
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(w, `${name}-config`), data });
    volumes.push({ name: 'config', configMap: { name: `${name}-config` } }, { name: 'state', emptyDir: {} });
    const env: Record<string, unknown>[] = [
      // StatefulSet pods carry their ordinal in this label (Kubernetes >= 1.28); Deployments use config-0.
      w.stateful
        ? { name: 'SR_INSTANCE_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } } }
        : { name: 'SR_INSTANCE_INDEX', value: '0' },
      ...credentialEnv(w),
    ];
    const processor = {
      name: 'processor',
      image: settings.processorImage,
      args: ['processor', '--config', `${CONFIG_MOUNT}/config-$(SR_INSTANCE_INDEX).json`],
      env,
      ports: [{ name: 'http', containerPort: settings.httpPort, protocol: 'TCP' }],
      volumeMounts: [{ name: 'config', mountPath: CONFIG_MOUNT, readOnly: true }, { name: 'state', mountPath: STATE_MOUNT }],
      readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
      livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 3 },
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    };
    containers = [processor, ...w.containers.map((c) => sidecar(c, c.name === w.udf?.containerName ? w.udf.podPort : undefined))];
  } else {
    // SCS: the user's containers with the env contract (instance index from the pod ordinal when stateful).
    containers = w.containers.map((c) => {
      const scs = (w.scsEnv?.[0] ?? []).map((e) => (e.name === 'SPRING_CLOUD_STREAM_INSTANCEINDEX' && w.stateful
        ? { name: e.name, valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } } }
        : { name: e.name, value: e.value ?? '' }));
      const secret = credentialEnv(w);
      return { ...sidecar(c), env: [...scs, ...secret, ...envList(c.env)] };
    });
  }

  if (w.credentials && Object.keys(w.credentials).length) {
    // Before the workload, like the ConfigMap: its pods read it at start.
    objects.unshift({ apiVersion: 'v1', kind: 'Secret', metadata: meta(w, credentialsSecretName(w.name)), type: 'Opaque', stringData: { ...w.credentials } });
  }
  const podSpec = { containers, ...(volumes.length ? { volumes } : {}), terminationGracePeriodSeconds: 30 };
  const template = { metadata: { labels: podLabels }, spec: podSpec };
  if (w.stateful) {
    objects.push({
      apiVersion: 'v1', kind: 'Service', metadata: meta(w, name),
      spec: { clusterIP: 'None', selector, ports: [{ name: 'http', port: settings.httpPort, targetPort: 'http', protocol: 'TCP' }], publishNotReadyAddresses: true },
    });
    objects.push({
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta(w, name),
      spec: { replicas: w.replicas, serviceName: name, podManagementPolicy: 'Parallel', selector: { matchLabels: selector }, template },
    });
  } else {
    objects.push({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(w, name),
      spec: { replicas: w.replicas, selector: { matchLabels: selector }, template },
    });
  }
  return objects;
}

function envList(env: EnvVar[] | undefined): Record<string, unknown>[] {
  return (env ?? []).map((e) => (e.valueFrom ? { name: e.name, valueFrom: e.valueFrom } : { name: e.name, value: e.value ?? '' }));
}

/** A template container as a pod container: only fields Kubernetes knows, the UDF port declared. */
function sidecar(c: Container, udfPort?: number): Record<string, unknown> {
  const out: Record<string, unknown> = { name: c.name };
  if (c.image) out.image = c.image;
  if (c.command?.length) out.command = c.command;
  if (c.args?.length) out.args = c.args;
  if (c.workingDir) out.workingDir = c.workingDir;
  const env = envList(c.env);
  if (udfPort !== undefined && !env.some((e) => e.name === 'SR_UDF_PORT')) env.push({ name: 'SR_UDF_PORT', value: String(udfPort) });
  if (env.length) out.env = env;
  const ports = c.ports?.length ? c.ports : udfPort !== undefined ? [{ name: 'grpc', containerPort: udfPort, protocol: 'TCP' as const }] : [];
  if (ports.length) out.ports = ports;
  if (c.resources) {
    // Quantities are strings in the API (`1`, `500m`, `1Gi`); manifests may write numbers.
    const quantities = (m?: Record<string, string | number>): Record<string, string> | undefined => m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));
    out.resources = { ...(c.resources.limits ? { limits: quantities(c.resources.limits) } : {}), ...(c.resources.requests ? { requests: quantities(c.resources.requests) } : {}) };
  }
  return out;
}
