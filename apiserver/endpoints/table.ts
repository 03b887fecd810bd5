// Table output for `kubectl get` (meta.k8s.io/v1 Table), from the CRD's additionalPrinterColumns like
// apiextensions-apiserver's table convertor: Name first, then the columns; date columns rendered as ages.
import type { PrinterColumn, ResourceDefinition } from '../../crds/loader';
import type { JsonObject } from '../storage/interface';
import { compileJsonPath, evaluateJsonPath, type CompiledPath } from './jsonpath';
import { redactCredentials } from '../../crds/addresses';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

interface Column {
  definition: { name: string; type: string; format: string; description: string; priority: number };
  path?: CompiledPath;
  type: PrinterColumn['type'] | 'name';
}

/** kube's HumanDuration (k8s.io/apimachinery/pkg/util/duration). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export class TableConvertor {
  private readonly columns: Column[];

  constructor(definition: ResourceDefinition) {
    const printer = definition.printerColumns.length > 0
      ? definition.printerColumns
      : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' } as PrinterColumn];
    this.columns = [
      {
        definition: { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace. Cannot be updated.', priority: 0 },
        type: 'name',
      },
      ...printer.map((c): Column => {
        let path: CompiledPath | undefined;
        try { path = compileJsonPath(c.jsonPath); } catch { path = undefined; }
        return {
          definition: { name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 },
          path,
          type: c.type,
        };
      }),
    ];
  }

  columnDefinitions(): Column['definition'][] {
    return this.columns.map((c) => c.definition);
  }

  private cell(column: Column, object: JsonObject, now: number): unknown {
    const meta = (object.metadata ?? {}) as { name?: string };
    if (column.type === 'name') return meta.name ?? '';
    if (!column.path) return null;
    const results = evaluateJsonPath(column.path, object);
    if (results.length === 0) return null;
    // Several matches (e.g. `.spec.inputs[*].name`) read best joined in one string cell.
    const value = results.length > 1 && column.type === 'string' ? results.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join(',') : results[0];
    if (value === null || value === undefined) return null;
    if (column.type === 'date') {
      const t = typeof value === 'string' ? Date.parse(value) : NaN;
      return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
    }
    if (column.type === 'string') return redactUserinfo(typeof value === 'string' ? value : JSON.stringify(value));
    return value;
  }

  row(object: JsonObject, include: IncludeObject, now = Date.now()): Record<string, unknown> {
    const row: Record<string, unknown> = { cells: this.columns.map((c) => this.cell(c, object, now)) };
    if (include === 'Object') row.object = object;
    else if (include === 'Metadata') row.object = partialObjectMetadata(object);
    return row;
  }

  table(objects: JsonObject[], meta: { resourceVersion?: string; continue?: string }, include: IncludeObject, withColumns = true): Record<string, unknown> {
    const now = Date.now();
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: meta,
      columnDefinitions: withColumns ? this.columnDefinitions() : null,
      rows: objects.map((o) => this.row(o, include, now)),
    };
  }
}

/** A printed cell never shows credentials written into a URL (`amqp://user:secret@host` -> `amqp://host`), e.g. the
 *  ClusterStream SERVER column: tables are what `kubectl get` puts on screens and in logs (crds/addresses.ts). */
export const redactUserinfo = redactCredentials;

export function partialObjectMetadata(object: JsonObject): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata ?? {} };
}
