// Reaching the ObjectMeta of an object safely: request bodies and patch results are untrusted JSON, so `metadata`
// may be missing or not an object at all.
import type { ObjectMeta } from '../../crds/types';
import type { JsonObject } from '../storage/interface';

/** The metadata every stored object carries (the shared Kubernetes ObjectMeta of crds/types). */
export type ObjectMetaShape = ObjectMeta;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object's metadata, created empty when absent or not an object (the object is changed in place). */
export function metaOf(obj: JsonObject): ObjectMetaShape & Record<string, unknown> {
  if (!isRecord(obj.metadata)) obj.metadata = {};
  return obj.metadata as ObjectMetaShape & Record<string, unknown>;
}
