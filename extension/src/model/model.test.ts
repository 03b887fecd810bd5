import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { completionContextAt } from './completion-context';
import { pathAtOffset, rangeOfFieldPath } from './ranges';
import { buildTopology, layoutTopology } from './topology';
import { WorkspaceIndex } from './workspace-index';
import { parseFieldPath, parseYamlFile } from './yaml-documents';

const PIPELINE = `apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata:
  name: orders
spec:
  name: orders
  protocol: kafka
  storage:
    clusterStream: "cs-orders"
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata:
  name: enrich
  namespace: default
spec:
  inputs:
    - name: orders
  outputs:
    - name: enriched
  attributes:
    srp.window: "5x"
    srp.spel.expression: 'a ''b'' c'
    srp.jsonata.expression: |
      {
        "total": price *
      }
`;

function textAt(text: string, range: { start: number; end: number }): string {
  return text.slice(range.start, range.end);
}

describe('field paths', () => {
  it('splits dotted paths, indices and bracketed map keys', () => {
    assert.deepEqual(parseFieldPath('spec.inputs[0].name'), ['spec', 'inputs', 0, 'name']);
    assert.deepEqual(parseFieldPath('spec.attributes[srp.window.idle.timeout]'), ['spec', 'attributes', 'srp.window.idle.timeout']);
    assert.deepEqual(parseFieldPath('metadata.labels[a/b]'), ['metadata', 'labels', 'a/b']);
  });
});

describe('YAML documents', () => {
  const file = parseYamlFile(PIPELINE);
  const [stream, processor] = file.documents;

  it('recognises our kinds and names in every document', () => {
    assert.equal(file.documents.length, 2);
    assert.equal(stream?.kind, 'Stream');
    assert.equal(processor?.kind, 'Processor');
    assert.equal(processor?.name, 'enrich');
  });

  it('maps a field path to the value range', () => {
    assert.ok(processor);
    const range = rangeOfFieldPath(PIPELINE, processor.doc, 'spec.inputs[0].name');
    assert.equal(textAt(PIPELINE, range), 'orders');
    assert.equal(textAt(PIPELINE, rangeOfFieldPath(PIPELINE, processor.doc, 'spec.attributes[srp.window]')), '"5x"');
  });

  it('maps a string offset inside plain, quoted and block scalars to the exact character', () => {
    assert.ok(processor);
    const window = rangeOfFieldPath(PIPELINE, processor.doc, 'spec.attributes[srp.window]', 1);
    assert.equal(textAt(PIPELINE, window), 'x');
    // 'a ''b'' c' is the value a 'b' c, where c has index 6
    const spel = rangeOfFieldPath(PIPELINE, processor.doc, 'spec.attributes[srp.spel.expression]', 6);
    assert.equal(textAt(PIPELINE, spel), 'c');
    const value = '{\n  "total": price *\n}\n';
    const star = value.indexOf('*');
    const jsonata = rangeOfFieldPath(PIPELINE, processor.doc, 'spec.attributes[srp.jsonata.expression]', star);
    assert.equal(textAt(PIPELINE, jsonata), '*');
    const brace = rangeOfFieldPath(PIPELINE, processor.doc, 'spec.attributes[srp.jsonata.expression]', value.lastIndexOf('}'));
    assert.equal(textAt(PIPELINE, brace), '}');
  });

  it('points a missing field at the deepest existing key', () => {
    assert.ok(stream);
    const range = rangeOfFieldPath(PIPELINE, stream.doc, 'spec.keys[0]');
    assert.equal(textAt(PIPELINE, range), 'spec');
    const rootMissing = rangeOfFieldPath(PIPELINE, stream.doc, 'nothing');
    assert.equal(textAt(PIPELINE, rootMissing), 'apiVersion: streaming.tanzu.vmware.com/v1alpha1');
  });

  it('finds the path under an offset, on keys and values', () => {
    assert.ok(processor);
    const onKey = pathAtOffset(processor.doc, PIPELINE.indexOf('srp.window') + 2);
    assert.deepEqual(onKey?.path, ['spec', 'attributes', 'srp.window']);
    assert.equal(onKey?.onKey, true);
    const onValue = pathAtOffset(processor.doc, PIPELINE.indexOf('- name: enriched') + 9);
    assert.deepEqual(onValue?.path, ['spec', 'outputs', 0, 'name']);
    assert.equal(onValue?.onKey, false);
  });

  it('never throws on broken YAML', () => {
    const broken = parseYamlFile('kind: Stream\n  bad: [\n---\n: :\n\t- x');
    assert.ok(broken.documents.length >= 1);
    assert.ok(broken.documents.some((d) => d.doc.errors.length > 0));
  });
});

describe('completion context', () => {
  const at = (text: string): ReturnType<typeof completionContextAt> => completionContextAt(text.replace('|', ''), text.indexOf('|'));

  it('knows the map a key is typed in, with its present siblings', () => {
    const context = at('kind: Processor\nspec:\n  replicas: 1\n  in|\n  type: SRP\n');
    assert.deepEqual(context.parentPath, ['spec']);
    assert.equal(context.position, 'key');
    assert.equal(context.prefix, 'in');
    assert.deepEqual(context.siblingKeys.sort(), ['replicas', 'type']);
  });

  it('knows values, sequence items and nested maps', () => {
    const value = at('kind: Processor\nspec:\n  attributes:\n    srp.lateEventMode: SI|\n');
    assert.equal(value.position, 'value');
    assert.equal(value.key, 'srp.lateEventMode');
    assert.deepEqual(value.parentPath, ['spec', 'attributes']);
    assert.equal(value.prefix, 'SI');
    const item = at('spec:\n  inputs:\n    - name: a\n    - |\n');
    assert.deepEqual(item.parentPath, ['spec', 'inputs', '*']);
    const continuation = at('spec:\n  inputs:\n    - name: a\n      |\n');
    assert.deepEqual(continuation.parentPath, ['spec', 'inputs', '*']);
    assert.deepEqual(continuation.siblingKeys, ['name']);
    const sameIndentSeq = at('spec:\n  inputs:\n  - name: a\n  - name: |\n');
    assert.deepEqual(sameIndentSeq.parentPath, ['spec', 'inputs', '*']);
    assert.equal(sameIndentSeq.position, 'value');
    const root = at('apiVersion: x\n---\nki|');
    assert.deepEqual(root.parentPath, []);
    const kindValue = at('kind: |');
    assert.equal(kindValue.position, 'value');
    assert.equal(kindValue.key, 'kind');
  });
});

describe('workspace index', () => {
  it('resolves Processor inputs to Streams across files and reports dangling ones', () => {
    const index = new WorkspaceIndex();
    index.updateText('file:///a.yaml', PIPELINE);
    const dangling = index.danglingStreamReferences('file:///a.yaml');
    assert.deepEqual(dangling.map((r) => `${r.field}=${r.targetName}`), ['spec.outputs[0].name=enriched']);
    index.updateText('file:///b.yaml', 'apiVersion: streaming.tanzu.vmware.com/v1alpha1\nkind: Stream\nmetadata:\n  name: enriched\nspec:\n  name: e\n  protocol: kafka\n');
    assert.deepEqual(index.danglingStreamReferences('file:///a.yaml'), []);
    const stream = index.find('Stream', 'enriched', 'default')[0];
    assert.equal(stream?.uri, 'file:///b.yaml');
    assert.ok(stream);
    assert.deepEqual(index.referencesTo(stream).map((r) => r.field), ['spec.outputs[0].name']);
    // Stream → ClusterStream (explicit and implicit names).
    const toCluster = index.references().filter((r) => r.targetKind === 'ClusterStream').map((r) => r.targetName).sort();
    assert.deepEqual(toCluster, ['cs-orders', 'enriched-cluster-stream']);
    index.remove('file:///b.yaml');
    assert.equal(index.danglingStreamReferences('file:///a.yaml').length, 1);
  });

  it('keeps namespaces apart', () => {
    const index = new WorkspaceIndex();
    index.updateText('file:///a.yaml', PIPELINE.replace('  namespace: default\n', '  namespace: other\n'));
    const dangling = index.danglingStreamReferences('file:///a.yaml').map((r) => r.targetName).sort();
    assert.deepEqual(dangling, ['enriched', 'orders']);
  });
});

describe('topology', () => {
  const resources = [
    { kind: 'Stream', metadata: { name: 'a' }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    { kind: 'Stream', metadata: { name: 'b' } },
    { kind: 'Processor', metadata: { name: 'p1' }, spec: { inputs: [{ name: 'a' }], outputs: [{ name: 'b' }] },
      status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ProcessorDeploying' }] } },
    { kind: 'Processor', metadata: { name: 'p2' }, spec: { inputs: [{ name: 'b' }], outputs: [{ name: 'c' }, { name: 'a' }] } },
  ];

  it('builds nodes and edges with Ready state, adding missing Streams', () => {
    const topology = buildTopology(resources, new Map([['Processor/default/p1|in|a', 12.5]]));
    assert.deepEqual(topology.nodes.map((n) => n.id), [
      'Processor/default/p1', 'Processor/default/p2', 'Stream/default/a', 'Stream/default/b', 'Stream/default/c',
    ]);
    const p1 = topology.nodes.find((n) => n.name === 'p1');
    assert.equal(p1?.ready, 'False');
    assert.equal(p1?.reason, 'ProcessorDeploying');
    assert.equal(topology.nodes.find((n) => n.name === 'c')?.missing, true);
    assert.equal(topology.edges.length, 5);
    assert.equal(topology.edges.find((e) => e.from === 'Stream/default/a')?.rate, 12.5);
  });

  it('lays out layers left to right, terminating on cycles, without overlaps', () => {
    const layout = layoutTopology(buildTopology(resources));
    const layerOf = (name: string): number | undefined => layout.nodes.find((n) => n.name === name)?.layer;
    assert.equal(layerOf('a'), 0);
    assert.equal(layerOf('p1'), 1);
    assert.equal(layerOf('b'), 2);
    assert.equal(layerOf('p2'), 3);
    assert.equal(layerOf('c'), 4);
    for (const a of layout.nodes) {
      for (const b of layout.nodes) {
        if (a === b) continue;
        const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
        assert.ok(!overlap, `${a.id} overlaps ${b.id}`);
      }
      assert.ok(a.x + a.width <= layout.width && a.y + a.height <= layout.height);
    }
    assert.equal(layout.edges.length, 5);
    assert.deepEqual(layoutTopology(buildTopology(resources)), layout);
  });
});
