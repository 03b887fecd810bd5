// In-cluster addresses: which are served locally, by what, and what the controllers make of them (BrokerDirectory:
// the ClusterStream endpoint and the registry a processor gets), on the local runtime and, unchanged, on kubernetes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostOf, isInClusterAddress, mapInClusterAddress, servedLocallyNote, type LocalServiceKind } from './in-cluster';
import { BrokerDirectory } from './brokers';
import { buildWorkload } from './workload';
import type { Processor, Stream } from '../crds/types';

const LOCAL = { kafka: '127.0.0.1:39092,127.0.0.1:39093', rabbitmq: 'amqp://guest:guest@127.0.0.1:5672', 'schema-registry': 'http://127.0.0.1:8081' };

describe('in-cluster addresses', () => {
  const table: Array<[LocalServiceKind, string, string | undefined]> = [
    // kind, address as written, address served locally (undefined = used as written)
    ['kafka', 'kafka.streaming-runtime.svc.cluster.local:9092', LOCAL.kafka],
    ['kafka', 'kafka.default.svc.cluster.local:9092', LOCAL.kafka],
    ['kafka', 'kafka.default.svc:9092', LOCAL.kafka],
    ['kafka', 'kafka.default.svc', LOCAL.kafka],
    ['kafka', 'KAFKA.Default.SVC.Cluster.Local.:9092', LOCAL.kafka],
    ['kafka', 'k-0.kafka.ns.svc.cluster.local:9092,k-1.kafka.ns.svc.cluster.local:9092', LOCAL.kafka],
    ['kafka', 'broker.example.com:9092', undefined],
    ['kafka', '10.0.0.7:9092', undefined],
    ['kafka', 'localhost:9092', undefined],
    ['kafka', 'svc.example.com:9092', undefined],
    ['kafka', 'kafka.svc.example.com:9092', undefined],
    ['rabbitmq', 'amqp://rabbitmq.default.svc:5672', LOCAL.rabbitmq],
    ['rabbitmq', 'rabbitmq.default.svc.cluster.local:5672', LOCAL.rabbitmq],
    ['rabbitmq', 'amqp://user:pw@rabbitmq.streaming-runtime.svc.cluster.local:5672/vhost', LOCAL.rabbitmq],
    ['rabbitmq', 'amqps://rabbit.example.com:5671', undefined],
    ['schema-registry', 'http://s-registry.streaming-runtime.svc.cluster.local:8081', 'http://127.0.0.1:8081'],
    ['schema-registry', 'http://s-registry.streaming-runtime.svc.cluster.local:8081/', 'http://127.0.0.1:8081'],
    ['schema-registry', 'http://s-registry.streaming-runtime.svc.cluster.local:8081/subjects/songs-value/versions/latest', 'http://127.0.0.1:8081/subjects/songs-value/versions/latest'],
    ['schema-registry', 'http://s-registry.ns.svc', 'http://127.0.0.1:8081'],
    ['schema-registry', 's-registry.ns.svc:8081', 'http://127.0.0.1:8081'],
    ['schema-registry', 'https://registry.example.com/subjects/x-value/versions/latest', undefined],
    ['schema-registry', 'http://127.0.0.1:18081', undefined],
  ];
  for (const [kind, address, served] of table) {
    it(`${kind}: ${address} → ${served ?? '(as written)'}`, () => {
      assert.equal(isInClusterAddress(address), served !== undefined);
      const mapped = mapInClusterAddress(kind, address, LOCAL[kind], true);
      assert.equal(mapped.address, served ?? address);
      assert.equal(mapped.inCluster, served === undefined ? undefined : address);
      // Mapping off (the kubernetes runtime) or no local service of that kind: the address as written.
      assert.deepEqual(mapInClusterAddress(kind, address, LOCAL[kind], false), { address });
      assert.deepEqual(mapInClusterAddress(kind, address, undefined, true), { address });
    });
  }

  it('finds the host in every form', () => {
    assert.equal(hostOf('amqp://u:p@rabbitmq.default.svc:5672/v'), 'rabbitmq.default.svc');
    assert.equal(hostOf('a.svc:1,b:2'), 'a.svc');
    assert.equal(hostOf('http://h.ns.svc.cluster.local:8081/subjects/s'), 'h.ns.svc.cluster.local');
    assert.equal(hostOf(''), undefined);
  });

  it('says what serves it, in words for a Ready condition', () => {
    assert.equal(servedLocallyNote('kafka', 'kafka.ns.svc.cluster.local:9092', '127.0.0.1:39092'),
      'in-cluster address kafka.ns.svc.cluster.local:9092 served by the local Kafka at 127.0.0.1:39092');
  });
});

describe('BrokerDirectory with in-cluster addresses', () => {
  const defaults = { kafka: LOCAL.kafka, rabbitmq: LOCAL.rabbitmq, schemaRegistry: LOCAL['schema-registry'] };

  it('local runtime: in-cluster ClusterStream URLs get the local broker (with its credentials), others stay', async () => {
    const brokers = new BrokerDirectory({ ...defaults, mapInClusterAddresses: true });
    try {
      assert.deepEqual(brokers.endpoint('kafka', 'kafka.streaming-runtime.svc.cluster.local:9092'),
        { url: LOCAL.kafka, inCluster: 'kafka.streaming-runtime.svc.cluster.local:9092' });
      assert.deepEqual(brokers.endpoint('rabbitmq', 'amqp://rabbitmq.default.svc:5672'),
        { url: 'amqp://127.0.0.1:5672', credentials: { username: 'guest', password: 'guest' }, inCluster: 'amqp://rabbitmq.default.svc:5672' });
      assert.deepEqual(brokers.endpoint('kafka', 'broker.example.com:9092'), { url: 'broker.example.com:9092' });
      assert.deepEqual(brokers.endpoint('kafka', undefined), { url: LOCAL.kafka });
      assert.deepEqual(brokers.schemaRegistry('http://s-registry.streaming-runtime.svc.cluster.local:8081'),
        { url: 'http://127.0.0.1:8081', inCluster: 'http://s-registry.streaming-runtime.svc.cluster.local:8081' });
      assert.deepEqual(brokers.schemaRegistry('http://registry.example.com:8081'), { url: 'http://registry.example.com:8081' });
    } finally {
      await brokers.close();
    }
  });

  it('kubernetes runtime: every address passes through unchanged', async () => {
    const brokers = new BrokerDirectory(defaults);
    try {
      assert.deepEqual(brokers.endpoint('kafka', 'kafka.streaming-runtime.svc.cluster.local:9092'), { url: 'kafka.streaming-runtime.svc.cluster.local:9092' });
      assert.deepEqual(brokers.endpoint('rabbitmq', 'amqp://rabbitmq.default.svc:5672'), { url: 'amqp://rabbitmq.default.svc:5672' });
      assert.deepEqual(brokers.schemaRegistry('http://s-registry.ns.svc:8081'), { url: 'http://s-registry.ns.svc:8081' });
    } finally {
      await brokers.close();
    }
  });
});

describe('processor configurations', () => {
  const stream = (name: string, dataSchemaContext: Stream['spec']['dataSchemaContext']): Stream => ({
    apiVersion: 'streaming.tanzu.vmware.com/v1alpha1', kind: 'Stream', metadata: { name, namespace: 'default' },
    spec: { name, protocol: 'kafka', dataSchemaContext },
  });
  const processor = (attributes: Record<string, string>): Processor => ({
    apiVersion: 'streaming.tanzu.vmware.com/v1alpha1', kind: 'Processor', metadata: { name: 'p', namespace: 'default' },
    spec: { inputs: [{ name: 'songs' }, { name: 'plays' }, { name: 'other' }], outputs: [{ name: 'out' }], attributes },
  });
  const endpoint = { url: LOCAL.kafka };
  const inputs = [
    stream('songs', { inline: { type: 'avro-confluent', schema: 'http://s-registry.streaming-runtime.svc.cluster.local:8081/subjects/songs-value/versions/latest' } }),
    stream('plays', { schemaRegistryUri: 'http://s-registry.streaming-runtime.svc.cluster.local:8081' }),
    stream('other', { schemaRegistryUri: 'http://registry.example.com:8081' }),
  ].map((s) => ({ stream: s, endpoint }));
  const build = (mapped: boolean, attributes: Record<string, string> = {}) => {
    const brokers = new BrokerDirectory({ schemaRegistry: LOCAL['schema-registry'], mapInClusterAddresses: mapped });
    return buildWorkload({
      processor: processor(attributes), inputs, outputs: [{ stream: stream('out', undefined), endpoint }],
      credentialsInConfig: true, httpPort: 0, schemaRegistryFor: (url) => brokers.schemaRegistry(url).url,
    }).workload.configs[0];
  };

  it('local runtime: a Stream naming an in-cluster registry gets the local one; srp.input.schemaRegistryUri too', () => {
    const config = build(true, { 'srp.input.schemaRegistryUri': 'http://s-registry.ns.svc:8081' });
    assert.deepEqual(config.inputs.map((i) => i.schemaRegistryUri), ['http://127.0.0.1:8081', 'http://127.0.0.1:8081', 'http://registry.example.com:8081']);
    assert.equal(config.attributes['srp.input.schemaRegistryUri'], 'http://127.0.0.1:8081');
  });

  it('kubernetes runtime: as written', () => {
    const config = build(false, { 'srp.input.schemaRegistryUri': 'http://s-registry.ns.svc:8081' });
    assert.deepEqual(config.inputs.map((i) => i.schemaRegistryUri), [
      'http://s-registry.streaming-runtime.svc.cluster.local:8081', 'http://s-registry.streaming-runtime.svc.cluster.local:8081', 'http://registry.example.com:8081',
    ]);
    assert.equal(config.attributes['srp.input.schemaRegistryUri'], 'http://s-registry.ns.svc:8081');
  });
});
