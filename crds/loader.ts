// Reads the CustomResourceDefinition manifests beside this file (the single source of truth for the API) into
// ResourceDefinitions: what the API server needs for discovery, OpenAPI, validation, defaulting and tables.
// The manifests are read at run time from the package root (found by walking up from __dirname to package.json),
// so the compiled code in dist/ and the sources agree on one copy.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { GROUP, type KindName } from './types';

/** The subset of an OpenAPI v3 schema (with Kubernetes extensions) that CRDs use. */
export interface OpenApiSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  format?: string;
  default?: unknown;
  enum?: unknown[];
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  required?: string[];
  properties?: Record<string, OpenApiSchema>;
  additionalProperties?: OpenApiSchema | boolean;
  items?: OpenApiSchema;
  oneOf?: OpenApiSchema[];
  anyOf?: OpenApiSchema[];
  allOf?: OpenApiSchema[];
  not?: OpenApiSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface ResourceDefinition {
  group: string;
  version: string;
  kind: KindName;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  scope: 'Namespaced' | 'Cluster';
  listKind: string;
  /** The version's openAPIV3Schema. Shared with the cache: treat as read-only. */
  schema: OpenApiSchema;
  printerColumns: PrinterColumn[];
  subresources: { status?: Record<string, never>; scale?: ScaleSubresource };
  /** The raw CustomResourceDefinition manifest, as parsed. */
  crd: Record<string, unknown>;
}

/** The manifests, one per kind, in the order a cluster should get them (ClusterStream before its claims). */
export const CRD_FILES = ['clusterstream.yaml', 'stream.yaml', 'processor.yaml'] as const;

let cached: ResourceDefinition[] | undefined;

/**
 * The folder holding the CRD manifests: `<package root>/crds`, or $SR_CRDS_DIR (for bundles that move the code away
 * from the manifests, e.g. a packaged editor extension).
 */
export function crdDirectory(): string {
  if (process.env.SR_CRDS_DIR) return process.env.SR_CRDS_DIR;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`crds: no package.json above ${__dirname}; cannot find the CRD manifests`);
    dir = parent;
  }
  return path.join(dir, 'crds');
}

/** All resource definitions, read once and cached. Throws if a manifest is missing or malformed (a build defect). */
export function loadDefinitions(): ResourceDefinition[] {
  if (!cached) {
    const directory = crdDirectory();
    cached = CRD_FILES.map((file) => {
      const fullPath = path.join(directory, file);
      return parseDefinition(parseYaml(fs.readFileSync(fullPath, 'utf8')), fullPath);
    });
  }
  return cached;
}

/**
 * The definition for a kind ("Stream"), plural ("streams"), singular ("stream") or short name ("srs").
 * Kinds match exactly; resource names case-insensitively (as kubectl does).
 */
export function definitionFor(name: string): ResourceDefinition | undefined {
  const lower = name.toLowerCase();
  return loadDefinitions().find(
    (d) => d.kind === name || d.plural === lower || d.singular === lower || d.shortNames.includes(lower),
  );
}

/** Turns a parsed CRD manifest into a ResourceDefinition (the served-and-stored version). Exported for tests. */
export function parseDefinition(manifest: unknown, source: string): ResourceDefinition {
  const crd = asRecord(manifest, `${source}: not a YAML mapping`);
  const spec = asRecord(crd.spec, `${source}: no spec`);
  const names = asRecord(spec.names, `${source}: no spec.names`);
  const versions = Array.isArray(spec.versions) ? spec.versions.map((v) => asRecord(v, `${source}: bad version`)) : [];
  const version = versions.find((v) => v.storage === true) ?? versions[0];
  if (!version) throw new Error(`${source}: no spec.versions`);
  const schema = asRecord(asRecord(version.schema, `${source}: no schema`).openAPIV3Schema, `${source}: no openAPIV3Schema`);
  const subresources = version.subresources ? asRecord(version.subresources, `${source}: bad subresources`) : {};
  const kind = String(names.kind);
  if (kind !== 'ClusterStream' && kind !== 'Stream' && kind !== 'Processor') throw new Error(`${source}: unknown kind ${kind}`);
  const scope = spec.scope === 'Cluster' ? 'Cluster' : 'Namespaced';
  return {
    group: typeof spec.group === 'string' ? spec.group : GROUP,
    version: String(version.name),
    kind,
    plural: String(names.plural),
    singular: typeof names.singular === 'string' ? names.singular : kind.toLowerCase(),
    shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(String) : [],
    categories: Array.isArray(names.categories) ? names.categories.map(String) : [],
    scope,
    listKind: typeof names.listKind === 'string' ? names.listKind : `${kind}List`,
    schema: schema as OpenApiSchema,
    printerColumns: Array.isArray(version.additionalPrinterColumns)
      ? (version.additionalPrinterColumns as PrinterColumn[])
      : [],
    subresources: {
      ...(subresources.status !== undefined ? { status: {} } : {}),
      ...(subresources.scale !== undefined ? { scale: subresources.scale as ScaleSubresource } : {}),
    },
    crd,
  };
}

function asRecord(value: unknown, error: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(error);
  return value as Record<string, unknown>;
}
