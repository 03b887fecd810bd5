// Walks an OpenAPI v3 (structural) schema of a CRD along a field path, for completion and hover.

export interface OpenApiSchema {
  type?: string;
  description?: string;
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema | boolean;
  items?: OpenApiSchema;
  enum?: unknown[];
  default?: unknown;
  required?: string[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
}

/**
 * The sub-schema at `path` ('*' or a number for sequence items; map keys under additionalProperties match any
 * key). Undefined when the path leaves the schema.
 */
export function schemaAt(root: OpenApiSchema, path: ReadonlyArray<string | number>): OpenApiSchema | undefined {
  let current: OpenApiSchema | undefined = root;
  for (const segment of path) {
    if (!current) return undefined;
    if (segment === '*' || typeof segment === 'number') {
      current = current.items;
      continue;
    }
    const property: OpenApiSchema | undefined = current.properties?.[segment];
    if (property) {
      current = property;
    } else if (typeof current.additionalProperties === 'object') {
      current = current.additionalProperties;
    } else {
      return undefined;
    }
  }
  return current;
}

/** A one-line summary of a schema's type for completion details: `string`, `[]object`, `map[string]string`. */
export function typeLabel(schema: OpenApiSchema): string {
  if (schema.type === 'array') return `[]${schema.items ? typeLabel(schema.items) : 'any'}`;
  if (schema.type === 'object' && !schema.properties && typeof schema.additionalProperties === 'object') {
    return `map[string]${typeLabel(schema.additionalProperties)}`;
  }
  if (schema['x-kubernetes-int-or-string']) return 'int-or-string';
  return schema.type ?? 'any';
}
