// The original's samples (/work/shared/sr-samples, or SR_SAMPLES_DIR) as workloads, resolved the way the
// Processor reconciler resolves them: Streams from the same file, missing ones auto-provisioned as Kafka.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Processor, Stream } from '../../crds/types';
import { attachSql, sqlStreams } from '../../controllers/sql-workload';
import { tableFromAvroSchema, tableFromStream } from '../../crds/sql/tables';
import type { SqlTable } from '../../crds/sql/table';
import { buildWorkload, type ResolvedStream } from '../../controllers/workload';
import type { ProcessorWorkload } from '../../controllers/runtime/types';

export const SAMPLES_DIR = process.env.SR_SAMPLES_DIR ?? '/work/shared/sr-samples';

export function sampleFiles(): string[] {
  if (!existsSync(SAMPLES_DIR)) return [];
  return readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.yaml')).sort();
}

export function loadDocuments(file: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(join(SAMPLES_DIR, file), 'utf8'))
    .map((d) => d.toJSON() as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => !!d && typeof d === 'object');
}

/** What the top-k-songs data generator registers under `songs-value` and `playevents-value` (its avroSchema), for
 *  the sample whose Streams read their columns from the registry. */
export const SAMPLE_REGISTRY_SCHEMAS: Record<string, string> = {
  'songs-value': JSON.stringify({
    type: 'record', name: 'Song', namespace: 'com.tanzu.streaming.runtime.playsongs.avro',
    fields: [
      { name: 'song_id', type: 'long' }, { name: 'album', type: 'string' }, { name: 'artist', type: 'string' },
      { name: 'name', type: 'string' }, { name: 'genre', type: 'string' },
    ],
  }),
  'playevents-value': JSON.stringify({
    type: 'record', name: 'PlayEvent', namespace: 'com.tanzu.streaming.runtime.playsongs.avro',
    fields: [{ name: 'song_id', type: 'long' }, { name: 'duration', type: 'long' }],
  }),
};

/** A Stream's table the way the reconciler builds it, with registry schemas from SAMPLE_REGISTRY_SCHEMAS. */
export function sampleTable(stream: Stream): SqlTable {
  const built = tableFromStream(stream);
  if (!built.table) throw new Error(`${stream.metadata.name ?? ''}: ${built.diagnostics.map((d) => d.message).join('; ')}`);
  const registry = built.table.columnsFromRegistry;
  if (!registry) return built.table;
  const subject = /\/subjects\/([^/]+)\//.exec(registry.url)?.[1] ?? '';
  const schema = SAMPLE_REGISTRY_SCHEMAS[subject];
  if (!schema) throw new Error(`no sample registry schema for ${registry.url}`);
  const fromRegistry = tableFromAvroSchema(stream, schema);
  if (!fromRegistry.table) throw new Error(`${stream.metadata.name ?? ''}: ${fromRegistry.diagnostics.map((d) => d.message).join('; ')}`);
  return fromRegistry.table;
}

export interface SampleWorkload { file: string; processor: Processor; workload: ProcessorWorkload }

export function sampleWorkloads(opts: { credentialsInConfig: boolean; httpPort: number }): SampleWorkload[] {
  const out: SampleWorkload[] = [];
  for (const file of sampleFiles()) {
    const docs = loadDocuments(file);
    const streams = new Map<string, Stream>();
    for (const d of docs) if (d.kind === 'Stream') { const s = d as unknown as Stream; streams.set(s.metadata.name ?? '', s); }
    for (const d of docs) {
      if (d.kind !== 'Processor') continue;
      const processor = structuredClone(d as unknown as Processor);
      // tests__test-processor.yaml has `inputs: {sources: [...]}`: the API server rejects it (not an array).
      if (!Array.isArray(processor.spec.inputs ?? []) || !Array.isArray(processor.spec.outputs ?? [])) continue;
      processor.metadata.namespace ??= 'default';
      processor.metadata.uid = `uid-${processor.metadata.name ?? ''}`;
      const resolve = (name: string): ResolvedStream => {
        const stream = streams.get(name) ?? { apiVersion: 'streaming.tanzu.vmware.com/v1alpha1', kind: 'Stream', metadata: { name, namespace: 'default' }, spec: { name, protocol: 'kafka' } } as Stream;
        const url = stream.spec.protocol === 'kafka' ? 'kafka.default.svc.cluster.local:9092' : 'amqp://rabbitmq.default.svc.cluster.local:5672';
        return { stream, endpoint: { url } };
      };
      const sql = processor.spec.type === 'FSQL' ? sqlStreams(processor) : undefined;
      const inputs = [...(processor.spec.inputs ?? []).map((i) => i.name), ...(sql?.inputs ?? [])];
      const outputs = [...(processor.spec.outputs ?? []).map((o) => o.name), ...(sql?.outputs ?? [])];
      const { workload } = buildWorkload({
        processor,
        inputs: inputs.map(resolve),
        outputs: outputs.map(resolve),
        ...opts,
      });
      if (sql) attachSql(workload, processor, [...inputs, ...outputs].map((n) => sampleTable(resolve(n).stream)));
      out.push({ file, processor, workload });
    }
  }
  return out;
}
