// In-cluster addresses on one machine. The original's manifests name services of the cluster they ran in:
// `kafka.streaming-runtime.svc.cluster.local:9092`, `amqp://rabbitmq.default.svc:5672`,
// `http://s-registry.streaming-runtime.svc.cluster.local:8081/subjects/songs-value/versions/latest`. No cluster DNS
// answers those names under `sr up`, so with the local runtime such an address is served by the local service of the
// same kind (the default Kafka, RabbitMQ or schema registry); any other address is used as written. With the
// kubernetes runtime nothing is mapped: the names resolve where the processors run.

/** What serves an address: a broker by protocol, or the schema registry. */
export type LocalServiceKind = 'kafka' | 'rabbitmq' | 'schema-registry';

export const LOCAL_SERVICE_NAMES: Record<LocalServiceKind, string> = {
  kafka: 'Kafka',
  rabbitmq: 'RabbitMQ',
  'schema-registry': 'schema registry',
};

/** The host of an address written as `host[:port]`, `host:port,host2:port` (Kafka), or a URL with a scheme and
 *  maybe user info and a path; undefined for an empty address. */
export function hostOf(address: string): string | undefined {
  const first = address.trim().split(',')[0]?.trim() ?? '';
  const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^@/]*@)?(\[[^\]]*\]|[^/:?#]+)/i.exec(first);
  return m?.[1] || undefined;
}

/** Does the address name a Kubernetes Service (`<svc>.<ns>.svc` or `....svc.cluster.local`, trailing dot allowed)?
 *  For a Kafka bootstrap list, any in-cluster broker makes the whole list in-cluster (the cluster is one). */
export function isInClusterAddress(address: string): boolean {
  return address.split(',').some((part) => /\.svc(\.cluster\.local)?\.?$/i.test(hostOf(part) ?? ''));
}

export interface InClusterMapping {
  /** The address to use. */
  address: string;
  /** Set when the address was in-cluster and is served locally: the address as written. */
  inCluster?: string;
}

/** Maps an address to the local service's when mapping is on, the address is in-cluster and a local service of that
 *  kind exists; otherwise returns it unchanged. A registry URL keeps its path and query (a schema URL such as
 *  `.../subjects/songs-value/versions/latest` becomes the same path on the local registry). */
export function mapInClusterAddress(kind: LocalServiceKind, address: string, local: string | undefined, enabled: boolean): InClusterMapping {
  if (!enabled || !local || !isInClusterAddress(address)) return { address };
  if (kind !== 'schema-registry') return { address: local, inCluster: address };
  let rest = '';
  try {
    const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `http://${address}`);
    rest = `${u.pathname === '/' ? '' : u.pathname}${u.search}`;
  } catch {
    rest = '';
  }
  return { address: `${local.replace(/\/+$/, '')}${rest}`, inCluster: address };
}

/** The words of a Ready condition message (`served`: the local address, without credentials). */
export function servedLocallyNote(kind: LocalServiceKind, inCluster: string, served: string): string {
  return `in-cluster address ${inCluster} served by the local ${LOCAL_SERVICE_NAMES[kind]} at ${served}`;
}
