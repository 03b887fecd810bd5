// Upgrades shapes that manifests of the original Streaming Runtime use but its own CRDs never described, so that
// every one of its samples is accepted verbatim (../shared/sr-samples) and stored in the one shape the rest of the
// project reads:
//   - Processor `spec.inputs: { sources: [...] }` (and `outputs`) — the pre-CRD form used by its test manifests —
//     becomes the list `spec.inputs: [...]`.
//   - Stream and ClusterStream without `spec.name` get `spec.name = metadata.name` (the destination name).
// It runs as the first step of defaulting (crds/schema.ts applyDefaults), before structural validation.

import type { KindName } from '../types';

/** Mutates `obj`; returns one sentence per change made (usable as API warnings). Never throws. */
export function upgradeLegacyShapes(kind: KindName, obj: Record<string, unknown>): string[] {
  const changes: string[] = [];
  const spec = obj.spec;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return changes;
  const fields = spec as Record<string, unknown>;
  if (kind === 'Processor') {
    for (const direction of ['inputs', 'outputs'] as const) {
      const value = fields[direction];
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const legacy = value as Record<string, unknown>;
        if (Object.keys(legacy).length === 1 && Array.isArray(legacy.sources)) {
          fields[direction] = legacy.sources;
          changes.push(`spec.${direction}.sources is deprecated: converted to the list spec.${direction}`);
        }
      }
    }
  } else if (fields.name === undefined || fields.name === null) {
    const metadata = obj.metadata;
    const name = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>).name : undefined;
    if (typeof name === 'string' && name !== '') {
      fields.name = name;
      changes.push(`spec.name defaulted to metadata.name ${JSON.stringify(name)}`);
    }
  }
  return changes;
}
