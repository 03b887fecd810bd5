// The binding a command uses to reach a Stream: the very one the controllers would give a Processor reading or
// writing it (`controllers/workload.ts#buildWorkload` on a Processor of our own that reads and writes that Stream), so
// the destination, the server, the output partitioning (keys / keyExpression / partitionCount) and the schema
// registry are the processors' own — nothing here decides them a second time. The same goes for a Processor's
// dead-letter and late destinations (`sr stream tail --dead-letters`): buildWorkload says where they are.
//
// Credentials never appear in status, so they come, in this order, from the Stream's `binding` Secret
// (servicebinding.io `username`/`password`, read through the core API when the API server serves it — a cluster; `sr
// up` serves only our group), the user info of its ClusterStream's `server.url`, or `--rabbitmq-url` when it names
// the same RabbitMQ host:port (as the controllers lend their default server's credentials).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { API_VERSION, type ClusterStream, type Processor, type Stream } from '../../crds/types';
import { BrokerDirectory } from '../../controllers/brokers';
import { mapInClusterAddress } from '../../controllers/in-cluster';
import { buildWorkload, type ResolvedStream } from '../../controllers/workload';
import type { BindingConfig, ProcessorConfig } from '../../processor/config';
import { serverUrl } from '../generate/streams';
import { getNamed, notReadyReason, type Cluster } from './resources';

export interface BindingFlags {
  dir: string;
  rabbitmqUrl: string;
  schemaRegistryUrl?: string;
}

export interface StreamBinding {
  /** How a Processor writing the Stream publishes (partitioning included). */
  output: BindingConfig;
  /** The configuration that binding belongs to (the binder factory takes both). */
  config: ProcessorConfig;
  /** The registry that decodes its Avro payloads, if any. */
  schemaRegistry?: string;
  /** Where the credentials came from, for the start-up line. */
  credentialsFrom?: string;
}

/** The name of our own Processor in buildWorkload (never deployed; nothing is named after it on a broker). */
const TOOL = 'sr-stream';

/** `sr up`'s development registry (DIR/run/schema-registry.json), which also serves in-cluster registry addresses. */
function upRegistry(dir: string): string | undefined {
  const file = join(resolve(dir), 'run', 'schema-registry.json');
  if (!existsSync(file)) return undefined;
  try {
    const { url } = JSON.parse(readFileSync(file, 'utf8')) as { url?: unknown };
    return typeof url === 'string' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** The registry the processors get for a registry URL a Stream names: on `sr up` an in-cluster one is sr up's. */
function registryMapping(dir: string): { local: string | undefined; schemaRegistryFor: (url: string) => string } {
  const local = upRegistry(dir);
  return { local, schemaRegistryFor: (url) => mapInClusterAddress('schema-registry', url, local, local !== undefined).address };
}

/** A Stream that can be used now: Ready and with an address, else an error saying why not. */
function usable(stream: Stream): string {
  const where = `Stream ${stream.metadata.namespace ?? 'default'}/${stream.metadata.name ?? ''}`;
  const why = notReadyReason(stream);
  if (why) throw new Error(`${where} is not Ready: ${why}`);
  const url = serverUrl(stream);
  if (!url) throw new Error(`${where} is Ready but its status has no storageAddress`);
  return url;
}

async function secretCredentials(cluster: Cluster, namespace: string, name: string): Promise<{ username: string; password: string }> {
  const secret = await cluster.kubeConfig.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace });
  const field = (key: string): string => {
    const value = secret.data?.[key] ?? secret.stringData?.[key];
    if (value === undefined) throw new Error(`Secret ${namespace}/${name} has no "${key}"`);
    return secret.data?.[key] !== undefined ? Buffer.from(value, 'base64').toString('utf8') : value;
  };
  return { username: field('username'), password: field('password') };
}

async function resolveStream(cluster: Cluster, stream: Stream, flags: BindingFlags): Promise<ResolvedStream & { credentialsFrom?: string }> {
  const url = usable(stream);
  const protocol = stream.spec.protocol;
  const namespace = stream.metadata.namespace ?? 'default';
  if (stream.spec.binding) {
    try {
      return { stream, endpoint: { url, credentials: await secretCredentials(cluster, namespace, stream.spec.binding) }, credentialsFrom: `Secret ${namespace}/${stream.spec.binding}` };
    } catch {
      // `sr up` serves no Secrets: the credentials are then those below, as the local runtime gives its processors.
    }
  }
  const directory = new BrokerDirectory({ rabbitmq: flags.rabbitmqUrl });
  const claimed = stream.status?.clusterStreamName
    ? await cluster.client.get<ClusterStream>('ClusterStream', undefined, stream.status.clusterStreamName).catch(() => undefined)
    : undefined;
  const specUrl = claimed?.spec.storage?.server?.url;
  const fromClusterStream = specUrl && specUrl !== 'empty' && /\/\/[^/@]+@/.test(specUrl) ? directory.endpoint(protocol, specUrl)?.credentials : undefined;
  if (fromClusterStream) return { stream, endpoint: { url, credentials: fromClusterStream }, credentialsFrom: `ClusterStream ${claimed?.metadata.name ?? ''}` };
  const lent = directory.endpoint(protocol, url)?.credentials;
  return { stream, endpoint: { url, ...(lent ? { credentials: lent } : {}) }, ...(lent ? { credentialsFrom: '--rabbitmq-url' } : {}) };
}

function toolProcessor(namespace: string, spec: Processor['spec']): Processor {
  return { apiVersion: API_VERSION, kind: 'Processor', metadata: { name: TOOL, namespace }, spec };
}

/** The binding of a Stream as a Processor writing it would have it. */
export async function streamBinding(cluster: Cluster, namespace: string, name: string, flags: BindingFlags): Promise<StreamBinding> {
  const stream = await getNamed<Stream>(cluster, 'Stream', namespace, name);
  const resolved = await resolveStream(cluster, stream, flags);
  const { local, schemaRegistryFor } = registryMapping(flags.dir);
  const { workload } = buildWorkload({
    processor: toolProcessor(namespace, { inputs: [{ name }], outputs: [{ name }], attributes: { 'srp.skipUdf': 'true' } }),
    inputs: [resolved], outputs: [resolved],
    credentialsInConfig: true, httpPort: 0, schemaRegistryFor,
  });
  const config = workload.configs[0];
  const registry = flags.schemaRegistryUrl ?? config.inputs[0].schemaRegistryUri ?? local;
  return {
    output: config.outputs[0], config,
    ...(registry ? { schemaRegistry: registry } : {}),
    ...(resolved.credentialsFrom ? { credentialsFrom: resolved.credentialsFrom } : {}),
  };
}

export type SideChannel = 'dead-letters' | 'late';

/** A Processor's dead-letter or late destination, as its instances write it. */
export async function sideChannelBinding(cluster: Cluster, namespace: string, name: string, channel: SideChannel, flags: BindingFlags): Promise<StreamBinding> {
  const processor = await getNamed<Processor>(cluster, 'Processor', namespace, name);
  if (processor.spec.type === 'SCS') throw new Error(`Processor ${namespace}/${name} is of type SCS: its application decides where failed messages go`);
  const attributes = processor.spec.attributes ?? {};
  // The SQL parser is loaded only for the processors that need it.
  const sql = processor.spec.type === 'FSQL' ? (await import('../../controllers/sql-workload')).sqlStreams(processor) : undefined;
  const inputs = [...new Set([...(processor.spec.inputs ?? []).map((i) => i.name), ...(sql?.inputs ?? [])])];
  const outputs = [...new Set([...(processor.spec.outputs ?? []).map((o) => o.name), ...(sql?.outputs ?? [])])];
  const named = { late: attributes['srp.output.late'], deadLetter: attributes['srp.output.deadLetter'] };
  const resolved = new Map<string, ResolvedStream & { credentialsFrom?: string }>();
  for (const stream of [...inputs, ...outputs, named.late, named.deadLetter]) {
    if (!stream || resolved.has(stream)) continue;
    const s = await getNamed<Stream>(cluster, 'Stream', namespace, stream);
    resolved.set(stream, await resolveStream(cluster, s, flags));
  }
  const { local, schemaRegistryFor } = registryMapping(flags.dir);
  const { workload } = buildWorkload({
    processor,
    inputs: inputs.map((n) => resolved.get(n)!),
    outputs: outputs.map((n) => resolved.get(n)!),
    ...(named.late ? { late: resolved.get(named.late)! } : {}),
    ...(named.deadLetter ? { deadLetter: resolved.get(named.deadLetter)! } : {}),
    credentialsInConfig: true, httpPort: 0, schemaRegistryFor,
  });
  const config = workload.configs[0];
  const binding = channel === 'late' ? config.lateOutput : config.deadLetter;
  if (!binding) {
    throw new Error(channel === 'late'
      ? `Processor ${namespace}/${name} has no late channel: srp.lateEventMode is not SIDE_CHANNEL`
      : `Processor ${namespace}/${name} has no dead-letter destination (it has no input)`);
  }
  // The side channel is written on the server of the Stream it derives from: the credentials are that Stream's.
  const from = [...resolved.values()].find((r) => r.endpoint.url === binding.server.url)?.credentialsFrom;
  const registry = flags.schemaRegistryUrl ?? config.inputs[0]?.schemaRegistryUri ?? local;
  return { output: binding, config, ...(registry ? { schemaRegistry: registry } : {}), ...(from ? { credentialsFrom: from } : {}) };
}
