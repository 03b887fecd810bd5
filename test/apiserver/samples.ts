// The original project's sample manifests, reduced to our three kinds (other kinds in those files are left out).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

export const SAMPLES_DIR = process.env.SR_SAMPLES_DIR ?? '/work/shared/sr-samples';
const KINDS = new Set(['ClusterStream', 'Stream', 'Processor']);

export interface SampleFile {
  file: string;
  /** Only our kinds, as one multi-document YAML. */
  yaml: string;
  count: number;
}

export function sampleFiles(): SampleFile[] {
  const files = readdirSync(SAMPLES_DIR).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  const result: SampleFile[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(join(SAMPLES_DIR, file), 'utf8'));
    const kept: string[] = [];
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      const value = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: { namespace?: string } } | null;
      if (value && typeof value.apiVersion === 'string' && value.apiVersion.startsWith('streaming.tanzu.vmware.com/') && KINDS.has(String(value.kind))) {
        // Each file goes to a namespace of its own (files reuse names); the manifests are otherwise unchanged.
        if (value.metadata) delete value.metadata.namespace;
        kept.push(stringify(value));
      }
    }
    if (kept.length > 0) result.push({ file, yaml: kept.join('---\n'), count: kept.length });
  }
  return result;
}
