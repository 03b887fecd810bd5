// The original's samples (/work/shared/sr-samples, or SR_SAMPLES_DIR) as workloads, resolved the way the
// Processor reconciler resolves them: Streams from the same file, missing ones auto-provisioned as Kafka.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Processor, Stream } from '../../crds/types';
import { fsqlWorkload, placeholderStreams } from '../../controllers/fsql';
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
      const { workload } = buildWorkload({
        processor,
        inputs: (processor.spec.inputs ?? []).map((i) => resolve(i.name)),
        outputs: (processor.spec.outputs ?? []).map((o) => resolve(o.name)),
        ...opts,
      });
      if (workload.type === 'FSQL') {
        const resolved = new Map(placeholderStreams(processor.spec.inlineQuery ?? []).map((n) => [n, resolve(n)]));
        workload.fsql = fsqlWorkload(processor, resolved);
      }
      out.push({ file, processor, workload });
    }
  }
  return out;
}
