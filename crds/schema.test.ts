import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import { applyDefaults, editorJsonSchema, pruneUnknownFields, schemaFor, structuralValidate, toJsonSchema, unknownFieldMessage } from './schema';

const API_VERSION = 'streaming.tanzu.vmware.com/v1alpha1';

function stream(spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: API_VERSION, kind: 'Stream', metadata: { name: 's' }, spec: { name: 'topic', protocol: 'kafka', ...spec } };
}

function processor(spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: API_VERSION, kind: 'Processor', metadata: { name: 'p' }, spec };
}

describe('structuralValidate', () => {
  it('accepts a valid object', () => {
    assert.deepEqual(structuralValidate('Stream', stream({ partitionCount: 3, keys: ['user'] })), []);
  });

  it('reports an unsupported enum value the way kube does', () => {
    assert.deepEqual(structuralValidate('Stream', stream({ protocol: 'mqtt' })), [
      {
        field: 'spec.protocol',
        type: 'FieldValueNotSupported',
        message: 'Unsupported value: "mqtt": supported values: "kafka", "rabbitmq"',
        value: 'mqtt',
      },
    ]);
  });

  it('reports a wrong type with the field path and kube wording', () => {
    const [issue] = structuralValidate('Stream', stream({ partitionCount: 'three' }));
    assert.equal(issue.field, 'spec.partitionCount');
    assert.equal(issue.type, 'FieldValueInvalid');
    assert.equal(issue.message, 'Invalid value: "string": spec.partitionCount in body must be of type integer: "string"');
  });

  it('reports bounds: partitionCount >= 1, replicas >= 0, container ports 1..65535', () => {
    assert.deepEqual(
      structuralValidate('Stream', stream({ partitionCount: 0 })).map((i) => [i.field, i.message]),
      [['spec.partitionCount', 'Invalid value: 0: spec.partitionCount in body should be greater than or equal to 1']],
    );
    assert.deepEqual(
      structuralValidate('Processor', processor({ replicas: -1 })).map((i) => i.field),
      ['spec.replicas'],
    );
    const ports = processor({ template: { spec: { containers: [{ name: 'udf', image: 'x', ports: [{ containerPort: 70000 }] }] } } });
    assert.deepEqual(structuralValidate('Processor', ports).map((i) => i.field), ['spec.template.spec.containers[0].ports[0].containerPort']);
  });

  it('reports required fields at their own path', () => {
    const issues = structuralValidate('Stream', { apiVersion: API_VERSION, kind: 'Stream', metadata: { name: 's' }, spec: { dataSchemaContext: { inline: { type: 'sql' } } } });
    assert.deepEqual(issues.map((i) => [i.field, i.type]).sort(), [
      ['spec.dataSchemaContext.inline.schema', 'FieldValueRequired'],
      ['spec.protocol', 'FieldValueRequired'],
    ]);
  });

  it('reports a data schema context with none or two of inline/schema/schemaless', () => {
    const none = structuralValidate('Stream', stream({ dataSchemaContext: { options: {} } }));
    assert.deepEqual(none.map((i) => i.field), ['spec.dataSchemaContext']);
    assert.match(none[0].message, /must validate one and only one schema \(oneOf\): set exactly one of inline, schema or schemaless\. Found none valid/);
    const two = structuralValidate('Stream', stream({ dataSchemaContext: { schemaless: 'application/json', inline: { type: 'sql', schema: 'x' } } }));
    assert.match(two[0].message, /Found 2 valid alternatives/);
  });

  it('names map entries by key: spec.attributes[srp.window]', () => {
    const issues = structuralValidate('Processor', processor({ attributes: { 'srp.window': 5 } }));
    assert.deepEqual(issues.map((i) => i.field), ['spec.attributes[srp.window]']);
  });

  it('reports duplicate keys of list-maps (inputs by name, ports by containerPort+protocol)', () => {
    const issues = structuralValidate('Processor', processor({ inputs: [{ name: 'a' }, { name: 'b' }, { name: 'a' }] }));
    assert.deepEqual(issues, [{ field: 'spec.inputs[2]', type: 'FieldValueDuplicate', message: 'Duplicate value: {"name":"a"}', value: { name: 'a' } }]);
    const ports = processor({
      template: { spec: { containers: [{ name: 'u', image: 'i', ports: [{ containerPort: 80 }, { containerPort: 80, protocol: 'UDP' }, { containerPort: 80, protocol: 'TCP' }] }] } },
    });
    assert.deepEqual(structuralValidate('Processor', ports).map((i) => i.field), ['spec.template.spec.containers[0].ports[2]']);
  });

  it('accepts int-or-string quantities and checks their pattern', () => {
    const withResources = (limits: Record<string, unknown>): Record<string, unknown> =>
      processor({ template: { spec: { containers: [{ name: 'u', image: 'i', resources: { limits } }] } } });
    assert.deepEqual(structuralValidate('Processor', withResources({ cpu: '500m', memory: '256Mi', pods: 2 })), []);
    assert.deepEqual(
      structuralValidate('Processor', withResources({ cpu: 'lots' })).map((i) => i.field),
      ['spec.template.spec.containers[0].resources.limits[cpu]'],
    );
    assert.deepEqual(structuralValidate('Processor', withResources({ cpu: true })).map((i) => i.field), ['spec.template.spec.containers[0].resources.limits[cpu]']);
  });

  it('lets env valueFrom carry any Kubernetes value source', () => {
    const obj = processor({
      template: { spec: { containers: [{ name: 'u', image: 'i', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }] } },
    });
    assert.deepEqual(structuralValidate('Processor', obj), []);
  });

  it('accepts legacy lower-case condition statuses in status', () => {
    const obj = { ...stream({}), status: { conditions: [{ type: 'Ready', status: 'true', reason: 'StreamDeployed', lastTransitionTime: '2022-08-01T00:00:00Z' }] } };
    assert.deepEqual(structuralValidate('Stream', obj), []);
  });

  it('never throws on hostile input', () => {
    for (const input of [null, 42, 'x', [], { spec: null }, { spec: [] }, { spec: { inputs: 'x', attributes: [] } }, { metadata: 7 }]) {
      assert.ok(Array.isArray(structuralValidate('Processor', input)));
    }
    assert.equal(structuralValidate('Stream', null)[0].field, '');
  });
});

describe('applyDefaults', () => {
  it('fills schema defaults: Processor type SRP, replicas 1, port protocol TCP; ClusterStream reclaimPolicy Retain', () => {
    const obj = processor({ template: { spec: { containers: [{ name: 'u', image: 'i', ports: [{ containerPort: 8080 }] }] } } });
    applyDefaults('Processor', obj);
    const spec = obj.spec as { type: string; replicas: number; template: { spec: { containers: { ports: { protocol: string }[] }[] } } };
    assert.equal(spec.type, 'SRP');
    assert.equal(spec.replicas, 1);
    assert.equal(spec.template.spec.containers[0].ports[0].protocol, 'TCP');
    const cs = { apiVersion: API_VERSION, kind: 'ClusterStream', metadata: { name: 'c' }, spec: { storage: { server: { protocol: 'kafka' } } } };
    applyDefaults('ClusterStream', cs);
    assert.equal((cs.spec.storage as { reclaimPolicy?: string }).reclaimPolicy, 'Retain');
  });

  it('keeps values that are set (including replicas 0)', () => {
    const obj = processor({ type: 'SCS', replicas: 0 });
    applyDefaults('Processor', obj);
    assert.deepEqual(obj.spec, { type: 'SCS', replicas: 0 });
  });

  it('treats null as absent: defaults it, or drops it when the field has no default (as kube does)', () => {
    const obj = processor({ replicas: null, inputs: null, attributes: { 'srp.window': null, kept: 'x' } });
    applyDefaults('Processor', obj);
    assert.deepEqual(obj.spec, { type: 'SRP', replicas: 1, attributes: { kept: 'x' } });
  });

  it('does not invent objects that are absent (no storage → no reclaimPolicy)', () => {
    const cs = { apiVersion: API_VERSION, kind: 'ClusterStream', metadata: { name: 'c' }, spec: { name: 't' } };
    applyDefaults('ClusterStream', cs);
    assert.deepEqual(cs.spec, { name: 't' });
  });

  it('upgrades the original test manifests: inputs.sources → inputs, spec.name ← metadata.name', () => {
    const obj = processor({ inputs: { sources: [{ name: 'in' }] }, outputs: [{ name: 'out' }] });
    applyDefaults('Processor', obj);
    assert.deepEqual((obj.spec as { inputs: unknown }).inputs, [{ name: 'in' }]);
    assert.deepEqual(structuralValidate('Processor', obj), []);
    const s = { apiVersion: API_VERSION, kind: 'Stream', metadata: { name: 'my-stream' }, spec: { protocol: 'kafka' } };
    applyDefaults('Stream', s);
    assert.equal((s.spec as { name?: string }).name, 'my-stream');
  });

  it('never throws on hostile input', () => {
    for (const input of [null, 42, [], { spec: 1 }, { spec: { inputs: { sources: 'x' } } }, { spec: { template: [] } }]) {
      applyDefaults('Processor', input);
      applyDefaults('Stream', input);
    }
  });
});

describe('pruneUnknownFields', () => {
  it('drops undeclared fields and returns their paths', () => {
    const spec = {
        foo: 1,
        inputs: [{ name: 'in', bar: true }],
        attributes: { anything: 'kept' },
        template: { spec: { containers: [{ name: 'u', image: 'i', env: [{ name: 'E', valueFrom: { secretKeyRef: { name: 's', key: 'k', extra: 1 } } }] }] } },
    };
    const obj = { apiVersion: API_VERSION, kind: 'Processor', metadata: { name: 'p', nonsense: 1 }, spec, extra: 'x' };
    const dropped = pruneUnknownFields('Processor', obj);
    assert.deepEqual(dropped.sort(), ['extra', 'metadata.nonsense', 'spec.foo', 'spec.inputs[0].bar']);
    assert.deepEqual(spec.inputs, [{ name: 'in' }]);
    assert.equal('extra' in obj, false);
    // Open maps and preserve-unknown-fields nodes keep everything.
    assert.deepEqual(spec.attributes, { anything: 'kept' });
    assert.deepEqual(spec.template.spec.containers[0].env[0].valueFrom, { secretKeyRef: { name: 's', key: 'k', extra: 1 } });
    assert.equal(unknownFieldMessage(dropped[0]), `unknown field "${dropped[0]}"`);
  });

  it('leaves a value of the wrong type for validation to report (and the legacy inputs.sources form)', () => {
    const obj = processor({ inputs: { sources: [{ name: 'in' }] }, replicas: 'x' });
    assert.deepEqual(pruneUnknownFields('Processor', obj), []);
    assert.deepEqual(obj.spec, { inputs: { sources: [{ name: 'in' }] }, replicas: 'x' });
  });

  it('keeps status fields the schema declares', () => {
    const obj = { ...stream({}), status: { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True', message: 'ok', observedGeneration: 2 }], bogus: 1 } };
    assert.deepEqual(pruneUnknownFields('Stream', obj), ['status.bogus']);
  });
});

describe('JSON Schema translation', () => {
  it('ajv compiles every kind; int-or-string becomes a type list; x-kubernetes-* are dropped', () => {
    const ajv = new Ajv({ strict: true, strictTypes: false, strictRequired: false });
    for (const kind of ['ClusterStream', 'Stream', 'Processor'] as const) {
      const json = toJsonSchema(schemaFor(kind));
      assert.doesNotMatch(JSON.stringify(json), /x-kubernetes/);
      ajv.compile(json);
    }
    assert.deepEqual(toJsonSchema({ 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] }), { type: ['integer', 'string'] });
    assert.deepEqual(toJsonSchema({ type: 'string', nullable: true }), { type: ['string', 'null'] });
    assert.deepEqual(toJsonSchema({ type: 'integer', minimum: 0, exclusiveMinimum: true }), { type: 'integer', exclusiveMinimum: 0 });
  });

  it('gives editors a closed schema with descriptions, enums and pinned apiVersion/kind', () => {
    const json = editorJsonSchema('Processor') as { properties: Record<string, Record<string, unknown>>; additionalProperties?: unknown };
    assert.deepEqual(json.properties.kind.enum, ['Processor']);
    assert.deepEqual(json.properties.apiVersion.enum, [API_VERSION]);
    const spec = json.properties.spec as { additionalProperties: unknown; properties: Record<string, { enum?: unknown; description?: string }> };
    assert.equal(spec.additionalProperties, false);
    assert.deepEqual(spec.properties.type.enum, ['SRP', 'SCS', 'FSQL']);
    assert.ok(spec.properties.replicas.description);
    const attributes = (spec.properties as Record<string, { properties?: Record<string, { enum?: unknown; description?: string }> }>).attributes;
    assert.deepEqual(attributes.properties?.['srp.lateEventMode']?.enum, ['DROP', 'UPSERT', 'SIDE_CHANNEL']);
    assert.match(attributes.properties?.['srp.window']?.description ?? '', /window/);
    const ajv = new Ajv({ strict: false });
    assert.equal(ajv.validate(json, { ...processor({ attributes: { 'srp.lateEventMode': 'LATE' } }) }), false);
    assert.equal(ajv.validate(json, { ...processor({ attributes: { free: 'form' } }) }), true);
    assert.equal(ajv.validate(json, { ...processor({ bogus: 1 }) }), false);
    assert.equal(ajv.validate(json, { ...processor({ type: 'SRP' }) }), true);
  });
});
