// Discovery documents derived from the CRD definitions: legacy (APIGroupList, APIGroup, APIResourceList) and
// aggregated discovery v2 (APIGroupDiscoveryList), as kube-apiserver serves them for custom resources.
import { createHash } from 'node:crypto';
import type { ResourceDefinition } from '../../crds/loader';

export const RESOURCE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];

export const AGGREGATED_DISCOVERY_V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export interface GroupVersion {
  group: string;
  version: string;
  definitions: ResourceDefinition[];
}

export function groupVersions(definitions: ResourceDefinition[]): GroupVersion[] {
  const byGv = new Map<string, GroupVersion>();
  for (const d of definitions) {
    const k = `${d.group}/${d.version}`;
    const gv = byGv.get(k) ?? { group: d.group, version: d.version, definitions: [] };
    gv.definitions.push(d);
    byGv.set(k, gv);
  }
  return Array.from(byGv.values());
}

export function apiGroup(gvs: GroupVersion[], group: string): Record<string, unknown> | undefined {
  const versions = gvs.filter((gv) => gv.group === group);
  if (versions.length === 0) return undefined;
  const list = versions.map((gv) => ({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: list, preferredVersion: list[0] };
}

export function apiGroupList(gvs: GroupVersion[]): Record<string, unknown> {
  const groups = Array.from(new Set(gvs.map((gv) => gv.group))).map((g) => {
    const group = apiGroup(gvs, g) ?? {};
    const { kind: _k, apiVersion: _a, ...rest } = group;
    void _k; void _a;
    return rest;
  });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiResourceList(gv: GroupVersion): Record<string, unknown> {
  const resources: Record<string, unknown>[] = [];
  for (const d of gv.definitions) {
    const namespaced = d.scope === 'Namespaced';
    resources.push({
      name: d.plural,
      singularName: d.singular,
      namespaced,
      kind: d.kind,
      verbs: RESOURCE_VERBS,
      ...(d.shortNames.length > 0 ? { shortNames: d.shortNames } : {}),
      ...(d.categories.length > 0 ? { categories: d.categories } : {}),
      storageVersionHash: createHash('sha256').update(`${d.group}/${d.version}/${d.kind}`).digest('base64').slice(0, 11),
    });
    if (d.subresources.status) {
      resources.push({ name: `${d.plural}/status`, singularName: '', namespaced, kind: d.kind, verbs: SUBRESOURCE_VERBS });
    }
    if (d.subresources.scale) {
      resources.push({ name: `${d.plural}/scale`, singularName: '', namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: SUBRESOURCE_VERBS });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${gv.group}/${gv.version}`, resources };
}

export function aggregatedDiscovery(gvs: GroupVersion[]): Record<string, unknown> {
  const groups = Array.from(new Set(gvs.map((gv) => gv.group)));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((group) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: gvs.filter((gv) => gv.group === group).map((gv) => ({
        version: gv.version,
        resources: gv.definitions.map((d) => ({
          resource: d.plural,
          responseKind: { group: d.group, version: d.version, kind: d.kind },
          scope: d.scope,
          singularResource: d.singular,
          verbs: RESOURCE_VERBS,
          ...(d.shortNames.length > 0 ? { shortNames: d.shortNames } : {}),
          ...(d.categories.length > 0 ? { categories: d.categories } : {}),
          subresources: [
            ...(d.subresources.status ? [{ subresource: 'status', responseKind: { group: d.group, version: d.version, kind: d.kind }, verbs: SUBRESOURCE_VERBS }] : []),
            ...(d.subresources.scale ? [{ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: SUBRESOURCE_VERBS }] : []),
          ],
        })),
        freshness: 'Current',
      })),
    })),
  };
}

/** An empty aggregated document (the legacy /api group: we serve no core resources). */
export function emptyAggregatedDiscovery(): Record<string, unknown> {
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items: [] };
}

/** A strong ETag for a JSON body. */
export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
}
