import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { definitionFor, loadDefinitions } from './loader';

describe('loadDefinitions', () => {
  it('reads the three kinds with their names, scope and subresources', () => {
    const definitions = loadDefinitions();
    assert.deepEqual(
      definitions.map((d) => [d.kind, d.plural, d.singular, d.shortNames, d.scope, d.listKind, d.group, d.version]),
      [
        ['ClusterStream', 'clusterstreams', 'clusterstream', ['srcs'], 'Cluster', 'ClusterStreamList', 'streaming.tanzu.vmware.com', 'v1alpha1'],
        ['Stream', 'streams', 'stream', ['srs'], 'Namespaced', 'StreamList', 'streaming.tanzu.vmware.com', 'v1alpha1'],
        ['Processor', 'processors', 'processor', ['srp'], 'Namespaced', 'ProcessorList', 'streaming.tanzu.vmware.com', 'v1alpha1'],
      ],
    );
    for (const d of definitions) {
      assert.deepEqual(d.subresources.status, {});
      assert.equal(d.schema.type, 'object');
      assert.equal((d.crd.kind as string), 'CustomResourceDefinition');
    }
    assert.deepEqual(definitionFor('Processor')?.subresources.scale, {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    });
    assert.equal(definitionFor('Stream')?.subresources.scale, undefined);
  });

  it('caches: the same objects on every call', () => {
    assert.equal(loadDefinitions(), loadDefinitions());
  });

  it('finds a definition by kind, plural, singular or short name', () => {
    for (const name of ['Stream', 'streams', 'stream', 'srs', 'STREAMS']) assert.equal(definitionFor(name)?.kind, 'Stream');
    assert.equal(definitionFor('srp')?.kind, 'Processor');
    assert.equal(definitionFor('srcs')?.kind, 'ClusterStream');
    assert.equal(definitionFor('deployments'), undefined);
  });

  it('has the printer columns kubectl shows (Age last, extras in -o wide)', () => {
    const columns = (kind: string): string[] =>
      (definitionFor(kind)?.printerColumns ?? []).map((c) => `${c.name}:${c.jsonPath}:${c.type}:${c.priority ?? 0}`);
    assert.deepEqual(columns('Stream'), [
      'Protocol:.spec.protocol:string:0',
      'Destination:.spec.name:string:0',
      'Ready:.status.conditions[?(@.type=="Ready")].status:string:0',
      'Reason:.status.conditions[?(@.type=="Ready")].reason:string:0',
      'ClusterStream:.status.clusterStreamName:string:1',
      'Age:.metadata.creationTimestamp:date:0',
    ]);
    assert.deepEqual(columns('Processor'), [
      'Type:.spec.type:string:0',
      'Ready:.status.conditions[?(@.type=="Ready")].status:string:0',
      'Reason:.status.conditions[?(@.type=="Ready")].reason:string:0',
      'Replicas:.spec.replicas:integer:0',
      'Ready Replicas:.status.readyReplicas:integer:0',
      'Inputs:.spec.inputs[*].name:string:1',
      'Outputs:.spec.outputs[*].name:string:1',
      'Age:.metadata.creationTimestamp:date:0',
    ]);
    assert.deepEqual(columns('ClusterStream'), [
      'Protocol:.spec.storage.server.protocol:string:0',
      'Server:.spec.storage.server.url:string:0',
      'Ready:.status.conditions[?(@.type=="Ready")].status:string:0',
      'Reason:.status.conditions[?(@.type=="Ready")].reason:string:0',
      'Reclaim:.spec.storage.reclaimPolicy:string:1',
      'Age:.metadata.creationTimestamp:date:0',
    ]);
  });
});
