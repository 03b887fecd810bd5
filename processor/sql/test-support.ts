// Test support (not a test): the original's sample manifests as tables and statements, a recording emit, and an
// ack counter that fails on a second call.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { tableFromStream } from '../../crds/sql/tables';
import type { SqlTable } from '../../crds/sql/table';
import type { Stream } from '../../crds/types';
import type { EmittedRow } from './sink';

/** test/compat/sr-samples, from dist/processor/sql or processor/sql. */
export const SAMPLES_DIR = join(__dirname, __dirname.includes(`${'dist'}`) ? '../../../test/compat/sr-samples' : '../../test/compat/sr-samples');

export interface Sample {
  tables: SqlTable[];
  byStream: Map<string, SqlTable>;
  processors: { name: string; statements: string[] }[];
}

export function loadSample(file: string): Sample {
  const docs = parseAllDocuments(readFileSync(join(SAMPLES_DIR, file), 'utf8')).map((d) => d.toJSON() as { kind?: string; metadata?: { name?: string }; spec?: { type?: string; inlineQuery?: string[] } } | null);
  const tables: SqlTable[] = [];
  const processors: Sample['processors'] = [];
  for (const doc of docs) {
    if (!doc) continue;
    if (doc.kind === 'Stream') {
      const result = tableFromStream(doc as unknown as Stream);
      if (!result.table) throw new Error(`stream ${doc.metadata?.name}: ${JSON.stringify(result.diagnostics)}`);
      tables.push(result.table);
    } else if (doc.kind === 'Processor' && doc.spec?.type === 'FSQL') {
      processors.push({ name: doc.metadata?.name ?? '', statements: doc.spec.inlineQuery ?? [] });
    }
  }
  return { tables, byStream: new Map(tables.map((t) => [t.stream, t])), processors };
}

/** Records every emit; `confirm` decides when each emit resolves (default: at once). */
export class Recorder {
  readonly rows: { stream: string; row: EmittedRow }[] = [];
  readonly batches: { stream: string; rows: EmittedRow[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  autoConfirm = true;

  readonly emit = (sink: SqlTable, rows: EmittedRow[]): Promise<void> => {
    for (const row of rows) this.rows.push({ stream: sink.stream, row });
    return new Promise<void>((resolve, reject) => {
      if (this.autoConfirm) resolve();
      else this.batches.push({ stream: sink.stream, rows, resolve, reject });
    });
  };

  /** Confirms every batch emitted so far and lets the confirmations run. */
  async confirmAll(): Promise<void> {
    const batches = this.batches.splice(0);
    for (const b of batches) b.resolve();
    await settle();
  }

  values(stream?: string): Record<string, unknown>[] {
    return this.rows.filter((r) => stream === undefined || r.stream === stream).map((r) => r.row.values);
  }
}

/** Ack callbacks that count; a second call of the same ack throws (exactly once). */
export class Acks {
  acked = 0;
  issued = 0;
  readonly byId = new Map<number, number>();

  next(id = this.issued): () => void {
    this.issued++;
    return () => {
      const seen = this.byId.get(id) ?? 0;
      if (seen > 0) throw new Error(`ack ${id} called twice`);
      this.byId.set(id, seen + 1);
      this.acked++;
    };
  }
}

/** Lets queued microtasks and promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A hand-built table: columns as `name TYPE` (`name TYPE?` nullable), optional source after `@` (timestamp, proctime). */
export function table(name: string, columns: string[], options: { stream?: string; watermark?: [string, number]; upsert?: boolean; primaryKey?: string[]; keyFields?: string[] } = {}): SqlTable {
  return {
    name,
    stream: options.stream ?? name.toLowerCase(),
    columns: columns.map((spec) => {
      const [decl, source] = spec.split('@');
      const [column, typeText] = decl.trim().split(/\s+/);
      const nullable = typeText.endsWith('?');
      const typeName = typeText.replace('?', '') as SqlTable['columns'][number]['type']['name'];
      const src = (source?.trim() ?? 'payload') as SqlTable['columns'][number]['source'];
      return { name: column, type: { name: typeName, nullable, ...(typeName === 'TIMESTAMP' ? { params: [3] } : {}) }, source: src, ...(src === 'timestamp' || src === 'proctime' ? { virtual: true } : {}) };
    }),
    ...(options.watermark ? { watermark: { column: options.watermark[0], delayMs: options.watermark[1], text: `${options.watermark[0]} - ${options.watermark[1]} ms` } } : {}),
    ...(options.primaryKey ? { primaryKey: options.primaryKey } : {}),
    ...(options.keyFields ? { keyFields: options.keyFields } : {}),
    valueFormat: 'json',
    upsert: options.upsert ?? false,
    startupMode: 'earliest-offset',
    options: {},
  };
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

