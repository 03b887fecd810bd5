// Patch application (k8s.io/apiserver's handlers/patch.go appliers): RFC 6902 JSON patch, RFC 7386 merge patch,
// and server-side apply with its field-manager conflicts answered as kube does (409 with FieldManagerConflict
// causes). The store decides what the patched object may change; this module only computes it.
import { applyPatch, type Operation } from 'fast-json-patch';
import { badRequest, conflict, invalid, type GroupResource } from '../errors';
import type { ManagedFieldsEntry } from '../../crds/types';
import type { JsonObject } from '../storage/interface';
import { ApplyConflictError, serverSideApply, type OwnershipScope } from './managed-fields';
import { isRecord, metaOf } from './object-meta';

export type PatchType = 'json' | 'merge' | 'apply';

/** RFC 6902 JSON patch; bad operations are 422 like kube-apiserver. */
export function applyJsonPatch(document: JsonObject, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  try {
    return applyPatch(structuredClone(document), patch as Operation[], true, true).newDocument;
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    const e = invalid({ group: '', kind: 'Patch' }, '', [{ field: '', type: 'FieldValueInvalid', message }]);
    e.status.message = `the server rejected our request due to an error in our request: ${message}`;
    throw e;
  }
}

/** RFC 7386 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = applyMergePatch(result[k], v);
  }
  return result;
}

/** A JSON or merge patch applied to the current object; the result must still be an object. */
export function patchedObject(current: JsonObject, type: 'json' | 'merge', patch: unknown): JsonObject {
  const patched = type === 'json' ? applyJsonPatch(current, patch) : applyMergePatch(current, patch);
  if (!isRecord(patched)) throw badRequest('the patch result is not an object');
  return patched as JsonObject;
}

export interface ApplyRequest {
  /** The apply configuration, already checked and stripped of system metadata. */
  applied: JsonObject;
  owner: { manager: string; operation: 'Apply'; subresource?: string };
  apiVersion: string;
  scope: OwnershipScope;
  force: boolean;
  groupResource: GroupResource;
}

/** Server-side apply onto `live` (undefined: the object is created); conflicts are 409 Conflict Statuses. */
export function applyConfiguration(live: JsonObject | undefined, request: ApplyRequest): { object: JsonObject; managedFields: ManagedFieldsEntry[] } {
  try {
    return serverSideApply(live, request.applied, request.owner, request.apiVersion, request.scope, request.force);
  } catch (err) {
    if (err instanceof ApplyConflictError) {
      const e = conflict(request.groupResource, String(metaOf(request.applied).name), '');
      e.status.message = err.message;
      e.status.details = {
        ...e.status.details,
        causes: err.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}" using ${err.apiVersion}`, field: c.path })),
      };
      throw e;
    }
    throw err;
  }
}
