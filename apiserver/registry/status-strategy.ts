// What a write may change of `status` (apiextensions-apiserver's statusStrategy and the status half of
// customResourceStrategy): with a status subresource, the main resource's writes never set status (create drops
// it, updates keep the stored one) and a write of /status changes status only; without one, status is just
// another field. Field ownership (managedFields) follows the same split.
import type { ResourceDefinition } from '../../crds/loader';
import type { JsonObject } from '../storage/interface';
import type { OwnershipScope } from './managed-fields';

export type Subresource = '' | 'status';

export class StatusStrategy {
  constructor(private readonly definition: ResourceDefinition) {}

  /** True when the kind has a status subresource. */
  get enabled(): boolean {
    return this.definition.subresources.status !== undefined;
  }

  /** A created object starts without status: its controller writes it. */
  prepareForCreate(obj: JsonObject): void {
    if (this.enabled) delete obj.status;
  }

  /** A write of the main resource keeps the stored status whatever the body says. */
  prepareForUpdate(old: JsonObject, next: JsonObject): void {
    if (!this.enabled) return;
    if (old.status === undefined) delete next.status; else next.status = structuredClone(old.status);
  }

  /** A write of /status: the stored object with the candidate's status, nothing else. */
  statusUpdate(old: JsonObject, candidate: JsonObject): JsonObject {
    const next = structuredClone(old);
    if (candidate.status === undefined) delete next.status; else next.status = candidate.status;
    return next;
  }

  /** Which fields a write through `subresource` may own. */
  ownership(subresource: Subresource): OwnershipScope {
    return { schema: this.definition.schema, part: subresource === 'status' ? 'status' : this.enabled ? 'main' : 'all' };
  }
}
