// From resources to a workload: the processor configuration per instance (processor/config.ts), the Spring Cloud
// Stream environment for SCS, the UDF sidecar, and the extra destinations the processor writes to (late events,
// dead letters). Pure functions: everything is resolved by the reconciler first, so this is easy to test.
import type { Container, EnvVar, Processor, Protocol, Stream } from '../crds/types';
import { parseDuration } from '../crds/expressions/duration';
import { credentialEnvNames, type BindingConfig, type ProcessorConfig } from '../processor/config';
import type { BrokerEndpoint, ConsumerGroup } from './provisioners/types';
import type { ProcessorWorkload, SecretEnv } from './runtime/types';

export interface ResolvedStream {
  stream: Stream;
  endpoint: BrokerEndpoint;
  /** The topic/exchange: the bound ClusterStream's spec.name (claims.ts streamDestination), which is the
   *  Stream's spec.name except for a second namespace's per-namespace claim. Default: the Stream's spec.name. */
  destination?: string;
  /** The Processors reading this Stream (claims.ts consumerGroupsOf): on RabbitMQ an output
   *  declares their queues before publishing (`requiredGroups`), so nothing is published into an exchange with
   *  no queue bound. */
  consumerGroups?: ConsumerGroup[];
}

/** A destination the processor writes to that no Stream describes (default late / dead-letter destinations). */
export interface DerivedDestination {
  protocol: Protocol;
  endpoint: BrokerEndpoint;
  destination: string;
  /** Default 1. */
  partitions?: number;
}

export interface WorkloadInput {
  processor: Processor;
  inputs: ResolvedStream[];
  outputs: ResolvedStream[];
  /** The Stream named by srp.output.late, when set. */
  late?: ResolvedStream;
  /** The Stream named by srp.output.deadLetter, when set. */
  deadLetter?: ResolvedStream;
  /** Local (true): no Secrets; the credentials the controllers know are used. Kubernetes (false): a Stream's
   *  `binding` Secret wins (secretEnv). Either way they reach the processor as environment variables
   *  (credentialsToEnvironment), not in its configuration. */
  credentialsInConfig: boolean;
  /** Port of the processor's debug/metrics endpoint (0 = any free port). */
  httpPort: number;
  /** The registry to give the processor for a registry URL a Stream (or `srp.input.schemaRegistryUri`) names: on the
   *  local runtime an in-cluster address becomes the local registry (in-cluster.ts); default: as written. */
  schemaRegistryFor?: (url: string) => string;
}

export interface BuiltWorkload {
  workload: ProcessorWorkload;
  derived: DerivedDestination[];
}

export const DEFAULT_GRPC_PORT = 55554;
export const DEFAULT_PARTITION_COUNT = 5;

export function isPartitionedStream(stream: Stream): boolean {
  return (stream.spec.keys?.length ?? 0) > 0 || !!stream.spec.keyExpression;
}

export function isPartitionedInput(processor: Processor, inputs: Stream[]): boolean {
  return inputs.some(isPartitionedStream) || processor.spec.attributes?.partitionedInput === 'true';
}

export function desiredReplicas(processor: Processor): number {
  const r = processor.spec.replicas;
  return typeof r === 'number' && Number.isInteger(r) && r >= 0 ? r : 1;
}

/** A Processor's consumer group (Kafka group id, RabbitMQ queue `<exchange>.<group>`, SCS `...INPUT_GROUP`): its name,
 *  as in the original, in `default`; `<namespace>.<name>` elsewhere. Group ids are broker-wide and Processor names
 *  only namespace-wide: two namespaces' same-named Processors in one group would split each other's messages, and
 *  members with different subscriptions or assigners never settle (the dev Kafka aborts on the latter). */
export function consumerGroupOf(namespace: string, name: string): string {
  return namespace === 'default' ? name : `${namespace}.${name}`;
}

function destinationOf(r: ResolvedStream): string {
  return r.destination ?? r.stream.spec.name;
}

export function buildWorkload(input: WorkloadInput): BuiltWorkload {
  const { processor } = input;
  const meta = processor.metadata;
  const namespace = meta.namespace ?? 'default';
  const name = meta.name ?? '';
  const attributes = processor.spec.attributes ?? {};
  const type = processor.spec.type ?? 'SRP';
  const replicas = desiredReplicas(processor);
  const partitionedInput = isPartitionedInput(processor, input.inputs.map((i) => i.stream));
  const stateful = partitionedInput || attributes.forceStatefulSet === 'true';
  const containers = processor.spec.template?.spec?.containers ?? [];
  const secretEnv: SecretEnv[] = [];

  const binding = (r: ResolvedStream, role: 'input' | 'output'): BindingConfig => {
    const s = r.stream;
    const config: BindingConfig = {
      stream: s.metadata.name ?? '',
      protocol: s.spec.protocol,
      destination: destinationOf(r),
      server: serverFor(r, input.credentialsInConfig, secretEnv, s.metadata.name ?? ''),
    };
    const contentType = s.spec.dataSchemaContext?.schemaless;
    if (contentType) config.contentType = contentType;
    if (role === 'output' && isPartitionedStream(s)) {
      config.partitioning = {
        ...(s.spec.keys?.length ? { keys: s.spec.keys } : {}),
        ...(s.spec.keyExpression ? { keyExpression: s.spec.keyExpression } : {}),
        partitionCount: s.spec.partitionCount ?? DEFAULT_PARTITION_COUNT,
      };
    }
    if (role === 'output' && s.spec.protocol === 'rabbitmq') {
      // Only groups that consume the way this output routes (partition queues for a partitioned output).
      const groups = (r.consumerGroups ?? []).filter((g) => (g.partitions !== undefined) === (config.partitioning !== undefined)).map((g) => g.group);
      if (groups.length) config.requiredGroups = [...new Set(groups)].sort();
    }
    if (role === 'input') {
      if (partitionedInput) {
        config.partitioned = true;
        // RabbitMQ: instance i consumes every partition p with p % replicas == i, so it must know how many exist.
        config.partitionCount = s.spec.partitionCount ?? DEFAULT_PARTITION_COUNT;
      }
      const time = s.spec.dataSchemaContext?.timeAttributes?.[0];
      if (time?.name) config.timeAttribute = { field: time.name.replace(/`/g, ''), ...(time.watermark ? { watermark: time.watermark } : {}) };
      const registry = schemaRegistryOf(s);
      if (registry) config.schemaRegistryUri = input.schemaRegistryFor ? input.schemaRegistryFor(registry) : registry;
    }
    return config;
  };

  const inputs = input.inputs.map((r) => binding(r, 'input'));
  const outputs = input.outputs.map((r) => binding(r, 'output'));
  const derived: DerivedDestination[] = [];

  let lateOutput: BindingConfig | undefined;
  if ((attributes['srp.lateEventMode'] ?? '').toUpperCase() === 'SIDE_CHANNEL') {
    if (input.late) lateOutput = binding(input.late, 'output');
    else if (input.outputs[0]) {
      const first = input.outputs[0];
      const stream = `${first.stream.metadata.name ?? ''}.late`;
      lateOutput = { ...binding(first, 'output'), stream, destination: `${destinationOf(first)}.late`, server: serverFor(first, input.credentialsInConfig, secretEnv, stream) };
      delete lateOutput.partitioning;
      delete lateOutput.requiredGroups; // the first output's readers do not read its late channel
      derived.push({ protocol: first.stream.spec.protocol, endpoint: first.endpoint, destination: lateOutput.destination });
    }
  }

  let deadLetter: BindingConfig | undefined;
  if (input.deadLetter) deadLetter = binding(input.deadLetter, 'output');
  else if (input.inputs[0]) {
    const first = input.inputs[0];
    const destination = `${destinationOf(first)}.${name}.dlq`;
    const stream = `${first.stream.metadata.name ?? ''}.dlq`;
    deadLetter = { stream, protocol: first.stream.spec.protocol, destination, server: serverFor(first, input.credentialsInConfig, secretEnv, stream) };
    derived.push({ protocol: first.stream.spec.protocol, endpoint: first.endpoint, destination });
  }

  const udfContainer = containers[0];
  const skipUdf = attributes['srp.skipUdf'] === 'true' || !udfContainer;
  const udf = type === 'SRP' && !skipUdf && udfContainer
    ? { containerName: udfContainer.name, podPort: udfPort(attributes, udfContainer) }
    : undefined;

  const configs: ProcessorConfig[] = [];
  for (let index = 0; index < Math.max(replicas, 1); index++) {
    const config: ProcessorConfig = {
      name, namespace, group: consumerGroupOf(namespace, name),
      instanceIndex: index, instanceCount: Math.max(replicas, 1),
      inputs, outputs,
      attributes: registryAttribute(attributes, input.schemaRegistryFor),
      http: { port: input.httpPort },
    };
    if (lateOutput) config.lateOutput = lateOutput;
    if (deadLetter) config.deadLetter = deadLetter;
    if (udf) {
      config.udf = { address: `127.0.0.1:${udf.podPort}` };
      const timeout = attributes['srp.udf.timeout'] ? parseDuration(attributes['srp.udf.timeout']) : undefined;
      if (timeout?.ok) config.udf.timeoutMs = timeout.value;
      const attempts = Number(attributes['srp.udf.maxAttempts']);
      if (Number.isInteger(attempts) && attempts > 0) config.udf.maxAttempts = attempts;
    }
    configs.push(config);
  }

  const workload: ProcessorWorkload = {
    key: `${namespace}/${name}`, namespace, name,
    ...(meta.uid ? { uid: meta.uid } : {}),
    ...(meta.generation !== undefined ? { generation: meta.generation } : {}),
    type, replicas, stateful, configs, containers,
    ...(udf ? { udf } : {}),
    ...(secretEnv.length ? { secretEnv: dedupe(secretEnv) } : {}),
  };
  if (type === 'SCS') {
    workload.scsEnv = configs.map((_, index) => scsEnvironment(consumerGroupOf(namespace, name), input, partitionedInput, index, Math.max(replicas, 1)));
  }
  return { workload, derived };
}

/** The schema registry of a Stream's Avro payloads: `dataSchemaContext.schemaRegistryUri`, else the registry an
 *  `inline: {type: avro-confluent, schema: <registry URL>/subjects/...}` names. The processor applies the
 *  `srp.input.schemaRegistryUri` attribute over it (attributes are passed verbatim). */
export function schemaRegistryOf(stream: Stream): string | undefined {
  const context = stream.spec.dataSchemaContext;
  if (context?.schemaRegistryUri) return context.schemaRegistryUri;
  const schema = context?.inline?.type === 'avro-confluent' ? (context.inline.schema ?? '').trim() : '';
  const subjects = /^(https?:\/\/[^\s]+?)\/subjects\//.exec(schema);
  return subjects ? subjects[1] : undefined;
}

/** The attributes passed to the processor, with `srp.input.schemaRegistryUri` mapped like the Streams' registries. */
function registryAttribute(attributes: Record<string, string>, schemaRegistryFor: ((url: string) => string) | undefined): Record<string, string> {
  const url = attributes['srp.input.schemaRegistryUri'];
  return url && schemaRegistryFor ? { ...attributes, 'srp.input.schemaRegistryUri': schemaRegistryFor(url) } : { ...attributes };
}

/** The UDF's port: srp.grpcPort, else the container's first declared port, else the original's default 55554. */
export function udfPort(attributes: Record<string, string>, container: Container): number {
  const fromAttr = Number(attributes['srp.grpcPort']);
  if (Number.isInteger(fromAttr) && fromAttr > 0 && fromAttr < 65536) return fromAttr;
  return container.ports?.[0]?.containerPort ?? DEFAULT_GRPC_PORT;
}

/** Whether a Stream's credentials come from its `binding` Secret: in a cluster (no Secrets on the local runtime). */
function fromBindingSecret(r: ResolvedStream, credentialsInConfig: boolean): boolean {
  return !credentialsInConfig && !!r.stream.spec.binding;
}

function serverFor(r: ResolvedStream, credentialsInConfig: boolean, secretEnv: SecretEnv[], bindingStream: string): BindingConfig['server'] {
  const secret = r.stream.spec.binding;
  if (secret && fromBindingSecret(r, credentialsInConfig)) {
    const names = credentialEnvNames(bindingStream);
    // servicebinding.io well-known entries: `username` and `password`.
    secretEnv.push({ env: names.username, secret, key: 'username' }, { env: names.password, secret, key: 'password' });
    return { url: r.endpoint.url };
  }
  // The ClusterStream URL's user info or the default server's: moved out of the configuration by
  // credentialsToEnvironment, then given to the processor the way binding Secrets are.
  return { url: r.endpoint.url, ...(r.endpoint.credentials ? { credentials: r.endpoint.credentials } : {}) };
}

/** The credentials the controllers know (a ClusterStream URL's user info, the default server's) leave the
 *  configuration and the Spring environment, and become `workload.credentials`: the `SR_BINDING_<STREAM>_USERNAME` /
 *  `_PASSWORD` variables that binding Secrets fill (processor/config.ts applyCredentialsFromEnv) and the Spring
 *  `SPRING_RABBITMQ_USERNAME` / `_PASSWORD`. The local runtime passes them as environment variables, the kubernetes
 *  runtime through a Secret of the Processor with secretKeyRef — so no configuration file, ConfigMap or Deployment
 *  spec holds a password. Call it after everything that copies bindings (FSQL's exchange). */
export function credentialsToEnvironment(workload: ProcessorWorkload): void {
  const credentials: Record<string, string> = { ...(workload.credentials ?? {}) };
  for (const config of workload.configs) {
    const bindings = [...config.inputs, ...config.outputs, config.lateOutput, config.deadLetter, ...(config.sql?.exchange?.inputs ?? []).map((e) => e.binding)];
    for (const binding of bindings) {
      const given = binding?.server.credentials;
      if (!binding || !given) continue;
      const names = credentialEnvNames(binding.stream);
      credentials[names.username] = given.username;
      credentials[names.password] = given.password;
      // Bindings may share one server object (FSQL's exchange copies its input's): replace, never mutate.
      binding.server = { url: binding.server.url };
    }
  }
  workload.scsEnv = workload.scsEnv?.map((env) => env.filter((e) => {
    if (!SPRING_CREDENTIALS.has(e.name)) return true;
    credentials[e.name] = e.value ?? '';
    return false;
  }));
  if (!workload.scsEnv) delete workload.scsEnv;
  if (Object.keys(credentials).length) workload.credentials = credentials;
}

const SPRING_CREDENTIALS = new Set(['SPRING_RABBITMQ_USERNAME', 'SPRING_RABBITMQ_PASSWORD']);

function dedupe(list: SecretEnv[]): SecretEnv[] {
  const seen = new Map<string, SecretEnv>();
  for (const s of list) seen.set(s.env, s);
  return [...seen.values()];
}

/** The original's Spring Cloud Stream environment contract for SCS containers (first input and output, as the
 *  original; Spring apps bind `input`/`output`). */
export function scsEnvironment(group: string, input: WorkloadInput, partitionedInput: boolean, index: number, count: number): EnvVar[] {
  const env: EnvVar[] = [];
  const add = (name: string, value: string): void => { env.push({ name, value }); };
  const addServer = (r: ResolvedStream): void => {
    if (r.stream.spec.protocol === 'kafka') {
      add('SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS', r.endpoint.url);
      add('SPRING_KAFKA_BOOTSTRAP_SERVERS', r.endpoint.url);
    } else {
      const u = new URL(r.endpoint.url);
      add('SPRING_RABBITMQ_HOST', u.hostname);
      add('SPRING_RABBITMQ_PORT', u.port || '5672');
      if (r.endpoint.credentials && !fromBindingSecret(r, input.credentialsInConfig)) {
        add('SPRING_RABBITMQ_USERNAME', r.endpoint.credentials.username);
        add('SPRING_RABBITMQ_PASSWORD', r.endpoint.credentials.password);
      }
    }
  };
  const first = input.inputs[0];
  if (first) {
    add('SPRING_CLOUD_STREAM_BINDINGS_INPUT_DESTINATION', destinationOf(first));
    add('SPRING_CLOUD_STREAM_BINDINGS_INPUT_GROUP', group);
    addServer(first);
    if (partitionedInput) {
      add('SPRING_CLOUD_STREAM_BINDINGS_INPUT_CONSUMER_PARTITIONED', 'true');
      add('SPRING_CLOUD_STREAM_INSTANCECOUNT', String(count));
      add('SPRING_CLOUD_STREAM_INSTANCEINDEX', String(index));
    }
  }
  const out = input.outputs[0];
  if (out) {
    add('SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_DESTINATION', destinationOf(out));
    if (!first || first.stream.spec.protocol !== out.stream.spec.protocol) addServer(out);
    if (isPartitionedStream(out.stream)) {
      add('SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_PRODUCER_PARTITIONKEYEXPRESSION', partitionKeyExpression(out.stream));
      add('SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_PRODUCER_PARTITIONCOUNT', String(out.stream.spec.partitionCount ?? DEFAULT_PARTITION_COUNT));
    }
  }
  const binder = (first ?? out)?.stream.spec.protocol;
  if (binder) add('SPRING_CLOUD_STREAM_DEFAULTBINDER', binder === 'kafka' ? 'kafka' : 'rabbit');
  return env;
}

/** The original turned `payload.team` into a SpEL over the payload bytes and `keys` into a header lookup. */
function partitionKeyExpression(stream: Stream): string {
  if (stream.spec.keyExpression) {
    const expr = stream.spec.keyExpression;
    return expr.startsWith('payload.') ? `new String(payload).${expr.slice('payload.'.length)}` : expr;
  }
  return `headers['${stream.spec.keys?.[0] ?? ''}']`;
}
