// Invariants of the CRD manifests themselves: what kube-apiserver requires of a structural schema (so that
// `kubectl apply -f crds/` works on a real cluster), a description on every field, defaults that satisfy their own
// schema, and that every field of the original Streaming Runtime's CRDs is still there with the same type.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { crdDirectory, loadDefinitions, parseDefinition, type OpenApiSchema } from './loader';
import { toJsonSchema } from './schema';

interface Node {
  path: string;
  schema: OpenApiSchema;
}

/** Every schema node reachable through properties, additionalProperties and items (not inside oneOf/anyOf). */
function nodes(schema: OpenApiSchema, at = ''): Node[] {
  const found: Node[] = [{ path: at, schema }];
  for (const [name, sub] of Object.entries(schema.properties ?? {})) found.push(...nodes(sub, `${at}.${name}`));
  if (typeof schema.additionalProperties === 'object') found.push(...nodes(schema.additionalProperties, `${at}[*]`));
  if (schema.items) found.push(...nodes(schema.items, `${at}[]`));
  return found;
}

const JUNCTOR_ALLOWED = new Set(['required', 'properties', 'items', 'enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'not', 'oneOf', 'anyOf', 'allOf', 'type']);

const NEWLY_REQUIRED = new Set([
  '.spec.inputs[].name',
  '.spec.outputs[].name',
  '.spec.template.spec.containers[].name',
  '.spec.template.spec.containers[].env[].name',
  '.status.conditions[].type',
  '.status.conditions[].status',
]);

describe('CRD manifests', () => {
  for (const definition of loadDefinitions()) {
    describe(definition.kind, () => {
      const all = nodes(definition.schema);

      it('is a structural schema: every node has a type (or is int-or-string / preserve-unknown-fields)', () => {
        for (const { path: at, schema } of all) {
          const exempt = schema['x-kubernetes-int-or-string'] === true || schema['x-kubernetes-preserve-unknown-fields'] === true;
          assert.ok(schema.type || exempt, `${at || '<root>'} has no type`);
          if (schema.type === 'array') assert.ok(schema.items, `${at} is an array without items`);
          if (schema.properties || typeof schema.additionalProperties === 'object') {
            assert.equal(schema.type, 'object', `${at} has properties but is not an object`);
            assert.ok(!(schema.properties && schema.additionalProperties), `${at} has both properties and additionalProperties`);
          }
        }
      });

      it('junctors (oneOf/anyOf) only constrain values: no type, description, default or nullable inside', () => {
        for (const { path: at, schema } of all) {
          const branches = [...(schema.oneOf ?? []), ...(schema.anyOf ?? []), ...(schema.allOf ?? [])];
          const intOrString = schema['x-kubernetes-int-or-string'] === true;
          for (const branch of branches) {
            for (const keyword of Object.keys(branch)) {
              if (keyword === 'type' && intOrString) continue;
              assert.ok(JUNCTOR_ALLOWED.has(keyword) && keyword !== 'type', `${at}: ${keyword} inside a junctor`);
            }
            for (const name of branch.required ?? []) assert.ok(schema.properties?.[name], `${at}: oneOf requires undeclared ${name}`);
          }
        }
      });

      it('the root metadata schema says nothing but its type; apiVersion and kind are strings', () => {
        assert.deepEqual(definition.schema.properties?.metadata, { type: 'object' });
        assert.equal(definition.schema.properties?.apiVersion?.type, 'string');
        assert.equal(definition.schema.properties?.kind?.type, 'string');
      });

      it('describes every field (kubectl explain, editor hover)', () => {
        for (const { path: at, schema } of all) {
          if (at === '.metadata') continue; // see the previous test
          assert.ok(schema.description && schema.description.length >= 8, `${at || '<root>'} has no description`);
        }
      });

      it('list-map keys are required or defaulted; defaults satisfy their schema', () => {
        const ajv = new Ajv({ strict: false });
        for (const { path: at, schema } of all) {
          for (const key of schema['x-kubernetes-list-map-keys'] ?? []) {
            const item = schema.items;
            assert.ok(item?.required?.includes(key) || item?.properties?.[key]?.default !== undefined, `${at}: list-map key ${key}`);
          }
          if (schema.default !== undefined) {
            assert.ok(ajv.validate(toJsonSchema(schema), schema.default), `${at}: default ${JSON.stringify(schema.default)} is invalid`);
          }
        }
      });

      it('printer columns point at declared fields', () => {
        for (const column of definition.printerColumns) {
          const steps = column.jsonPath.replace(/\[\?\(@\.type=="Ready"\)\]/g, '[]').replace(/\[\*\]/g, '[]').split('.').slice(1);
          let schema: OpenApiSchema | undefined = definition.schema;
          for (const step of steps) {
            const name = step.replace('[]', '');
            schema = name === 'creationTimestamp' && schema === definition.schema.properties?.metadata ? { type: 'string' } : schema?.properties?.[name];
            if (step.endsWith('[]')) schema = schema?.items;
          }
          assert.ok(schema?.type, `${column.name}: ${column.jsonPath} is not declared`);
          if (column.type !== 'date') assert.equal(column.type === 'integer' ? 'integer' : 'string', schema?.type, column.jsonPath);
        }
      });

      it('keeps the Ready and Reason columns, adds Age', () => {
        const names = definition.printerColumns.map((c) => c.name);
        for (const name of ['Ready', 'Reason', 'Age']) assert.ok(names.includes(name), name);
        assert.equal(new Set(names).size, names.length, 'column names are unique');
      });
    });
  }

  it('are a superset of the original CRDs: every original field exists with the same type', () => {
    // The original's CRDs, vendored with the samples (test/compat/sr-samples/upstream-crds).
    const upstreamDirectory = path.resolve(crdDirectory(), '..', 'test', 'compat', 'sr-samples', 'upstream-crds');
    const upstreamFiles = fs.readdirSync(upstreamDirectory).filter((f) => f.endsWith('.yaml'));
    assert.equal(upstreamFiles.length, 3);
    for (const file of upstreamFiles) {
      const upstream = parseDefinition(parseYaml(fs.readFileSync(path.join(upstreamDirectory, file), 'utf8')), file);
      const ours = loadDefinitions().find((d) => d.kind === upstream.kind);
      assert.ok(ours, upstream.kind);
      assert.deepEqual([ours.plural, ours.scope, ours.shortNames], [upstream.plural, upstream.scope, upstream.shortNames]);
      const ourTypes = new Map(nodes(ours.schema).map((n) => [n.path, n.schema.type]));
      for (const { path: at, schema } of nodes(upstream.schema)) {
        assert.ok(ourTypes.has(at), `${upstream.kind}${at} is missing`);
        if (at !== '.metadata') assert.equal(ourTypes.get(at), schema.type, `${upstream.kind}${at} changed type`);
      }
      // Nothing the original accepted is newly required.
      for (const { path: at, schema } of nodes(ours.schema)) {
        const original = nodes(upstream.schema).find((n) => n.path === at)?.schema;
        if (!original) continue;
        for (const name of schema.required ?? []) {
          // Deliberate: a stream reference, container or condition without its name/type is meaningless (the
          // original's controllers failed on them), and these are the list-map keys server-side apply merges by.
          if (NEWLY_REQUIRED.has(`${at}.${name}`)) continue;
          assert.ok(original.required?.includes(name), `${upstream.kind}${at}.${name} is newly required`);
        }
      }
    }
  });
});
