// TypeScript shapes of the three kinds of streaming.tanzu.vmware.com/v1alpha1.
// They mirror the CRD manifests beside this file (the single source of truth for schemas); every part of the
// project uses these types instead of redeclaring them.

export const GROUP = 'streaming.tanzu.vmware.com';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Annotation on a Processor listing its instances' Prometheus metrics URLs (comma-separated), set by the
 *  controllers where they are reachable from this machine (the local runtime); the editor's topology reads it. */
export const METRICS_URL_ANNOTATION = `${GROUP}/metrics-url`;
/** Label on every object (pods included) the Kubernetes runtime makes for a Processor: its name. */
export const PROCESSOR_LABEL = `${GROUP}/processor`;

export type KindName = 'ClusterStream' | 'Stream' | 'Processor';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  managedFields?: ManagedFieldsEntry[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  /**
   * Our controllers write True/False/Unknown. Objects written by the original Streaming Runtime's controllers may
   * hold lower-case "true"/"false" (the schema accepts any string): compare case-insensitively when reading.
   */
  status: ConditionStatus;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface StorageServerAddress {
  url?: string;
  protocol?: string;
  protocolVersion?: string;
  description?: string;
  variables?: Record<string, string>;
}

export interface StorageAddress {
  server?: Record<string, StorageServerAddress>;
}

// ---------------------------------------------------------------- ClusterStream

export type ReclaimPolicy = 'Retain' | 'Delete';
export type Protocol = 'kafka' | 'rabbitmq';

export interface ClusterStreamSpec {
  /** Topic/exchange name. Optional in manifests: defaulting (crds/schema applyDefaults) sets it to metadata.name. */
  name: string;
  keys?: string[];
  streamModes?: string[];
  storage?: {
    server?: { url?: string; protocol?: Protocol; binding?: string };
    attributes?: Record<string, string>;
    /** Defaults to Retain. */
    reclaimPolicy?: ReclaimPolicy;
  };
}

export interface ClusterStreamStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  binding?: { name?: string };
  storageAddress?: StorageAddress;
  /** Streams currently bound to this ClusterStream (namespace/name). */
  claimRefs?: string[];
}

export interface ClusterStream {
  apiVersion: typeof API_VERSION;
  kind: 'ClusterStream';
  metadata: ObjectMeta;
  spec: ClusterStreamSpec;
  status?: ClusterStreamStatus;
}

// ---------------------------------------------------------------- Stream

export interface SchemaField {
  name: string;
  type: string;
  logicalType?: string;
  optional?: boolean;
  watermark?: string;
  metadata?: { from: string; readonly?: boolean };
}

export interface TimeAttribute {
  name: string;
  watermark?: string;
}

export interface DataSchemaContext {
  schemaless?: string;
  inline?: { type: 'avro' | 'avro-confluent' | 'sql'; schema: string };
  schema?: { name: string; namespace: string; fields: SchemaField[] };
  schemaRegistryUri?: string;
  metadataFields?: SchemaField[];
  primaryKey?: string[];
  timeAttributes?: TimeAttribute[];
  options?: Record<string, string>;
}

export interface StreamSpec {
  /** Topic/exchange name. Optional in manifests: defaulting (crds/schema applyDefaults) sets it to metadata.name. */
  name: string;
  protocol: Protocol;
  keyExpression?: string;
  keys?: string[];
  partitionCount?: number;
  streamMode?: string[];
  storage?: { clusterStream?: string };
  attributes?: Record<string, string>;
  binding?: string;
  dataSchemaContext?: DataSchemaContext;
}

export interface StreamStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  storageAddress?: StorageAddress;
  /** The ClusterStream this Stream is bound to. */
  clusterStreamName?: string;
}

export interface Stream {
  apiVersion: typeof API_VERSION;
  kind: 'Stream';
  metadata: ObjectMeta;
  spec: StreamSpec;
  status?: StreamStatus;
}

// ---------------------------------------------------------------- Processor

export type ProcessorType = 'SRP' | 'SCS' | 'FSQL';

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  ports?: ContainerPort[];
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
}

export interface ProcessorSpec {
  /** Defaults to SRP. */
  type?: ProcessorType;
  /** Manifests may use the original's `{ sources: [...] }` form; defaulting turns it into this list. */
  inputs?: { name: string }[];
  outputs?: { name: string }[];
  /** Defaults to 1; minimum 0. */
  replicas?: number;
  inlineQuery?: string[];
  attributes?: Record<string, string>;
  template?: { spec?: { containers?: Container[] } };
}

export interface ProcessorStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  /** Replicas currently running (scale subresource statusReplicasPath). */
  replicas?: number;
  readyReplicas?: number;
  /** Label selector of the processor's instances (scale subresource labelSelectorPath). */
  selector?: string;
}

export interface Processor {
  apiVersion: typeof API_VERSION;
  kind: 'Processor';
  metadata: ObjectMeta;
  spec: ProcessorSpec;
  status?: ProcessorStatus;
}

export type StreamingResource = ClusterStream | Stream | Processor;
