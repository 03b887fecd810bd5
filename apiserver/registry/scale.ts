// The scale subresource (apiextensions-apiserver's ScaleREST): an autoscaling/v1 Scale view of an object whose CRD
// names its replica paths. Reading it reads the object; writing it sets spec replicas through the object's own
// update, so the kind's validation, generation and optimistic concurrency apply as to any write.
import type { ResourceDefinition } from '../../crds/loader';
import { badRequest, invalid, notFound, type GroupResource } from '../errors';
import { invalid as invalidIssue, required as requiredIssue } from '../../crds/validation/field-issue';
import type { JsonObject } from '../storage/interface';
import { isRecord, metaOf } from './object-meta';
import type { WriteOptions } from './options';

/** What the scale subresource needs of the object's store. */
export interface ScaledResource {
  readonly definition: ResourceDefinition;
  readonly groupResource: GroupResource;
  get(namespace: string, name: string): Promise<JsonObject>;
  /** Read-modify-write of the main resource: `produce` turns the current object into the wanted one. */
  updateWith(namespace: string, name: string, options: WriteOptions, produce: (current: JsonObject) => JsonObject): Promise<JsonObject>;
}

/** `.spec.replicas` → ['spec','replicas'] */
function pathSegments(jsonPath: string): string[] {
  return jsonPath.replace(/^\./, '').split('.').filter((s) => s !== '');
}

function getPath(obj: unknown, segs: string[]): unknown {
  let cur = obj;
  for (const s of segs) cur = isRecord(cur) ? cur[s] : undefined;
  return cur;
}

function setPath(obj: JsonObject, segs: string[], value: unknown): void {
  let cur: Record<string, unknown> = obj;
  for (const s of segs.slice(0, -1)) {
    if (!isRecord(cur[s])) cur[s] = {};
    cur = cur[s] as Record<string, unknown>;
  }
  cur[segs[segs.length - 1]] = value;
}

const SCALE_KIND = { group: 'autoscaling', kind: 'Scale' };

export class ScaleSubresource {
  constructor(private readonly resource: ScaledResource) {}

  private paths(): { spec: string[]; status: string[]; selector?: string[] } {
    const scale = this.resource.definition.subresources.scale;
    if (!scale) throw notFound(this.resource.groupResource, 'scale');
    return {
      spec: pathSegments(scale.specReplicasPath),
      status: pathSegments(scale.statusReplicasPath),
      ...(scale.labelSelectorPath ? { selector: pathSegments(scale.labelSelectorPath) } : {}),
    };
  }

  /** The autoscaling/v1 Scale view of an object. */
  toScale(object: JsonObject): JsonObject {
    const paths = this.paths();
    const meta = metaOf(object);
    const specReplicas = getPath(object, paths.spec);
    const statusReplicas = getPath(object, paths.status);
    const selector = paths.selector ? getPath(object, paths.selector) : undefined;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: meta.name,
        ...(meta.namespace ? { namespace: meta.namespace } : {}),
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
        creationTimestamp: meta.creationTimestamp,
      },
      spec: { replicas: typeof specReplicas === 'number' ? specReplicas : 0 },
      status: { replicas: typeof statusReplicas === 'number' ? statusReplicas : 0, ...(typeof selector === 'string' ? { selector } : {}) },
    };
  }

  async get(namespace: string, name: string): Promise<JsonObject> {
    this.paths();
    return this.toScale(await this.resource.get(namespace, name));
  }

  /** PUT or PATCH of /scale: `produce` turns the current Scale into the wanted Scale. */
  async update(namespace: string, name: string, produce: (currentScale: JsonObject) => unknown, options: WriteOptions): Promise<JsonObject> {
    const paths = this.paths();
    const updated = await this.resource.updateWith(namespace, name, options, (current) => {
      const wanted = produce(this.toScale(current));
      if (!isRecord(wanted)) throw badRequest('the Scale must be an object');
      const wantedMeta = isRecord(wanted.metadata) ? wanted.metadata : {};
      const replicas = isRecord(wanted.spec) ? wanted.spec.replicas : undefined;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas)) {
        throw invalid(SCALE_KIND, name, [replicas === undefined ? requiredIssue('spec.replicas') : invalidIssue('spec.replicas', replicas, 'must be an integer')]);
      }
      if (replicas < 0) throw invalid(SCALE_KIND, name, [invalidIssue('spec.replicas', replicas, 'must be greater than or equal to 0')]);
      const next = structuredClone(current);
      const meta = metaOf(next);
      // A Scale's resourceVersion is the object's: it is the write's precondition.
      const precondition = wantedMeta.resourceVersion;
      meta.resourceVersion = typeof precondition === 'string' && precondition !== '' ? precondition : meta.resourceVersion;
      setPath(next, paths.spec, replicas);
      return next;
    });
    return this.toScale(updated);
  }
}
