// Against the real RabbitMQ of this machine and the kafka-mock cluster (or KAFKA_BROKERS).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { startKafka, type KafkaHandle } from '../../test/support/kafka';
import { rabbitUrl, uniqueName } from '../../test/support/rabbitmq';
import { BrokerDirectory, publicAddress, stripCredentials } from '../brokers';
import { RabbitMqProvisioner, amqpUrlWithCredentials } from './rabbitmq';

let kafka: KafkaHandle;
before(async () => { kafka = await startKafka({ brokers: 1 }); });
after(async () => { await kafka.stop(); });

test('RabbitMQ: ensure creates a durable topic exchange, remove deletes it, both idempotent', async () => {
  const provisioner = new RabbitMqProvisioner();
  const url = rabbitUrl();
  const endpoint = { url: stripCredentials('rabbitmq', url), credentials: { username: 'guest', password: 'guest' } };
  const exchange = uniqueName('sr-ctl-ex');
  const conn = await amqp.connect(url);
  try {
    await provisioner.ensure(endpoint, exchange);
    await provisioner.ensure(endpoint, exchange);
    const ch = await conn.createChannel();
    await ch.checkExchange(exchange);
    // A topic exchange: asserting it with the same type and durability succeeds, another type fails.
    await ch.assertExchange(exchange, 'topic', { durable: true });
    await ch.close();
    await provisioner.remove(endpoint, exchange);
    await provisioner.remove(endpoint, exchange);
    const ch2 = await conn.createChannel();
    ch2.on('error', () => undefined);
    await assert.rejects(ch2.checkExchange(exchange), /NOT_FOUND/);
  } finally {
    await conn.close();
    await provisioner.close();
  }
});

test('RabbitMQ: the queues of consumer groups are declared (requiredGroups), so a publish before any consumer is kept', async () => {
  const provisioner = new RabbitMqProvisioner();
  const url = rabbitUrl();
  const endpoint = { url: stripCredentials('rabbitmq', url), credentials: { username: 'guest', password: 'guest' } };
  const exchange = uniqueName('sr-ctl-groups');
  const queues = [`${exchange}.plain`, ...[0, 1, 2].map((p) => `${exchange}.parted-${p}`)];
  const conn = await amqp.connect(url);
  try {
    await provisioner.ensure(endpoint, exchange);
    await provisioner.ensureConsumerGroups(endpoint, exchange, [{ group: 'plain' }, { group: 'parted', partitions: 3 }]);
    await provisioner.ensureConsumerGroups(endpoint, exchange, [{ group: 'plain' }, { group: 'parted', partitions: 3 }]);
    const ch = await conn.createConfirmChannel();
    // As an unpartitioned producer routes (the destination) and as a partitioned one does (`<destination>-<p>`).
    ch.publish(exchange, exchange, Buffer.from('a'), { persistent: true });
    ch.publish(exchange, `${exchange}-2`, Buffer.from('b'), { persistent: true });
    await ch.waitForConfirms();
    const depth = async (q: string): Promise<number> => (await ch.checkQueue(q)).messageCount;
    assert.equal(await depth(`${exchange}.plain`), 2, 'bound with #: every message');
    assert.equal(await depth(`${exchange}.parted-2`), 1, 'partition 2 only');
    assert.equal(await depth(`${exchange}.parted-0`), 0);
    assert.equal(await depth(`${exchange}.parted-1`), 0);
    for (const q of queues) await ch.deleteQueue(q);
    await ch.close();
    await provisioner.remove(endpoint, exchange);
  } finally {
    await conn.close();
    await provisioner.close();
  }
});

test('RabbitMQ: bad credentials fail with a clear error', async () => {
  const provisioner = new RabbitMqProvisioner();
  await assert.rejects(provisioner.ensure({ url: 'amqp://127.0.0.1:5672', credentials: { username: 'nobody', password: 'wrong' } }, uniqueName('x')), /ACCESS_REFUSED|403/);
  await provisioner.close();
});

test('Kafka: the dev cluster provisioner pre-creates topics with the partitions asked for', async () => {
  if (!kafka.control) return; // against a real Kafka the admin path below covers it
  const brokers = new BrokerDirectory({ kafka: kafka.bootstrap, kafkaMockControl: kafka.control });
  const endpoint = brokers.endpoint('kafka', undefined)!;
  const topic = uniqueName('sr-ctl-topic');
  await brokers.provisioner('kafka', endpoint).ensure(endpoint, topic, 3);
  const admin = new Kafka({ brokers: kafka.bootstrap.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(md.topics[0].partitions.length, 3);
  } finally { await admin.disconnect(); }
  await brokers.close();
});

test('Kafka: the dev cluster provisioner reports the partitions a topic really has, and that it cannot delete it', async () => {
  if (!kafka.control) return;
  const brokers = new BrokerDirectory({ kafka: kafka.bootstrap, kafkaMockControl: kafka.control });
  const endpoint = brokers.endpoint('kafka', undefined)!;
  const topic = uniqueName('sr-ctl-small');
  await kafka.createTopic(topic, 2); // exists already, with fewer partitions than a claim will ask for
  const provisioner = brokers.provisioner('kafka', endpoint);
  try {
    assert.deepEqual(await provisioner.ensure(endpoint, topic, 5), { partitions: 2 }, 'the mock cannot grow topics: the real count, not the requested one');
    assert.deepEqual(await provisioner.ensure(endpoint, topic, 2), { partitions: 2 });
    const fresh = uniqueName('sr-ctl-fresh');
    assert.deepEqual(await provisioner.ensure(endpoint, fresh, 3), { partitions: 3 });
    const removed = await provisioner.remove(endpoint, fresh);
    assert.equal(removed?.outcome, 'kept');
    assert.match(provisioner.cannotDelete ?? '', /cannot delete topics/);
  } finally {
    await brokers.close();
  }
});

test('Kafka: other bootstrap servers go through the real admin client (createTopics), which reports failures', async () => {
  const brokers = new BrokerDirectory({ kafka: kafka.bootstrap, kafkaMockControl: kafka.control ?? '' });
  const endpoint = { url: '127.0.0.1:1' };
  const provisioner = brokers.provisioner('kafka', endpoint);
  assert.equal(provisioner.constructor.name, 'KafkaAdminProvisioner');
  await assert.rejects(provisioner.ensure(endpoint, 'x', 1));
  await brokers.close();
});

test('addresses never carry credentials; URLs are normalised', () => {
  assert.equal(stripCredentials('rabbitmq', 'amqp://guest:secret@127.0.0.1:5672'), 'amqp://127.0.0.1:5672');
  assert.equal(stripCredentials('rabbitmq', 'rabbitmq.default.svc.cluster.local:5672'), 'amqp://rabbitmq.default.svc.cluster.local:5672');
  assert.equal(stripCredentials('kafka', 'kafka://a:9092, b:9092'), 'a:9092,b:9092');
  assert.doesNotMatch(JSON.stringify(publicAddress('rabbitmq', 'amqp://127.0.0.1:5672')), /guest/);
  assert.equal(amqpUrlWithCredentials({ url: 'amqp://h:5672/v', credentials: { username: 'u', password: 'p@ss' } }), 'amqp://u:p%40ss@h:5672/v');
  const dir = new BrokerDirectory({ rabbitmq: 'amqp://guest:guest@127.0.0.1:5672' });
  assert.deepEqual(dir.endpoint('rabbitmq', 'amqp://127.0.0.1:5672')?.credentials, { username: 'guest', password: 'guest' }, 'the default server lends its credentials');
  assert.equal(dir.endpoint('rabbitmq', 'amqp://other:5672')?.credentials, undefined);
  assert.equal(dir.defaultUrl('rabbitmq'), 'amqp://127.0.0.1:5672');
});
