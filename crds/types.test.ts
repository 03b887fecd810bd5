// Keeps types.ts and the CRD schemas in step: objects using every field the types declare must survive pruning
// (each field exists in the schema) and pass structural and semantic validation.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, pruneUnknownFields, structuralValidate } from './schema';
import { API_VERSION, type ClusterStream, type Condition, type Processor, type Stream, type StreamingResource } from './types';
import { validateResource } from './validation';

const condition: Condition = { type: 'Ready', status: 'True', reason: 'Deployed', message: 'ok', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' };
const address = { server: { production: { url: 'kafka:9092', protocol: 'kafka', protocolVersion: '3', description: 'd', variables: { brokers: 'kafka:9092' } } } };

const clusterStream: ClusterStream = {
  apiVersion: API_VERSION,
  kind: 'ClusterStream',
  metadata: { name: 'cs', labels: { a: 'b' }, annotations: { c: 'd' }, finalizers: ['f/x'] },
  spec: {
    name: 'topic',
    keys: ['k'],
    streamModes: ['read', 'write'],
    storage: { server: { url: 'kafka:9092', protocol: 'kafka', binding: 'secret' }, attributes: { namespace: 'n' }, reclaimPolicy: 'Delete' },
  },
  status: { conditions: [condition], observedGeneration: 2, binding: { name: 'secret' }, storageAddress: address, claimRefs: ['ns/s'] },
};

const stream: Stream = {
  apiVersion: API_VERSION,
  kind: 'Stream',
  metadata: { name: 's', namespace: 'ns', generation: 2, resourceVersion: '5', uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: {
    name: 'topic',
    protocol: 'kafka',
    keyExpression: 'payload.team',
    partitionCount: 3,
    streamMode: ['read'],
    storage: { clusterStream: 'cs' },
    attributes: { protocolAdapterName: 'kafka' },
    binding: 'secret',
    dataSchemaContext: {
      schema: {
        name: 'User',
        namespace: 'n',
        fields: [
          { name: 'id', type: 'string', optional: false },
          { name: 'ts', type: 'long_timestamp-millis', logicalType: 'timestamp-millis', watermark: "`ts` - INTERVAL '1' SECOND" },
        ],
      },
      schemaRegistryUri: 'http://registry:8081',
      metadataFields: [{ name: 'offset', type: 'long', metadata: { from: 'offset', readonly: true } }],
      primaryKey: ['id'],
      timeAttributes: [{ name: 'ts', watermark: "`ts` - INTERVAL '1' SECOND" }],
      options: { 'ddl.scan.startup.mode': 'earliest-offset' },
    },
  },
  status: { conditions: [condition], observedGeneration: 2, storageAddress: address, clusterStreamName: 'cs' },
};

const processor: Processor = {
  apiVersion: API_VERSION,
  kind: 'Processor',
  metadata: { name: 'p', namespace: 'ns' },
  spec: {
    type: 'SRP',
    inputs: [{ name: 's' }],
    outputs: [{ name: 'out' }],
    replicas: 2,
    attributes: { 'srp.window': '5s' },
    template: {
      spec: {
        containers: [
          {
            name: 'udf',
            image: 'udf:1',
            command: ['node'],
            args: ['udf.js'],
            workingDir: '/app',
            env: [{ name: 'A', value: 'b' }, { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
            ports: [{ name: 'grpc', containerPort: 55554, protocol: 'TCP' }],
            resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: 1 } },
          },
        ],
      },
    },
  },
  status: { conditions: [condition], observedGeneration: 2, replicas: 2, readyReplicas: 1, selector: 'app=p' },
};

describe('types.ts matches the schemas', () => {
  for (const obj of [clusterStream, stream, processor] as StreamingResource[]) {
    it(`${obj.kind} with every field typed is fully declared and valid`, () => {
      const copy = structuredClone(obj);
      assert.deepEqual(pruneUnknownFields(copy.kind, copy), []);
      applyDefaults(copy.kind, copy);
      assert.deepEqual(copy, obj, 'nothing to default: every defaulted field is set');
      assert.deepEqual(structuralValidate(copy.kind, copy), []);
      assert.deepEqual(validateResource(copy), { errors: [], warnings: [] });
    });
  }
});
