import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressCredentials, kafkaBrokers, normalAddress, redactCredentials } from './addresses';

test('kafkaBrokers: every form a ClusterStream or a flag uses', () => {
  const cases: Array<[string, string[]]> = [
    ['kafka:9092', ['kafka:9092']],
    ['a:9092,b:9092', ['a:9092', 'b:9092']],
    ['kafka://a:9092,kafka://b:9092', ['a:9092', 'b:9092']],
    ['kafka://a:9092, b:9092', ['a:9092', 'b:9092']],
    ['PLAINTEXT://a:9092', ['a:9092']],
    ['kafka://user:secret@a:9092', ['a:9092']],
    ['kafka://a:9092/', ['a:9092']],
    ['kafka.default.svc.cluster.local:9092', ['kafka.default.svc.cluster.local:9092']],
    ['a:9092,,', ['a:9092']],
    ['', []],
  ];
  for (const [url, brokers] of cases) assert.deepEqual(kafkaBrokers(url), brokers, url);
});

test('normalAddress: equal for the same server however it is written, never with credentials', () => {
  const cases: Array<[Parameters<typeof normalAddress>[0], string, string]> = [
    ['kafka', 'kafka://a:9092,kafka://b:9092', 'a:9092,b:9092'],
    ['kafka', 'a:9092, b:9092', 'a:9092,b:9092'],
    ['rabbitmq', 'amqp://guest:guest@127.0.0.1:5672', 'amqp://127.0.0.1:5672'],
    ['rabbitmq', 'amqp://127.0.0.1', 'amqp://127.0.0.1:5672'],
    ['rabbitmq', 'rabbitmq:5672', 'amqp://rabbitmq:5672'],
    ['rabbitmq', 'amqps://u:p@mq.example.com/prod', 'amqps://mq.example.com:5671/prod'],
    ['rabbitmq', 'amqp://u:p@h:5672/', 'amqp://h:5672'],
  ];
  for (const [protocol, url, normal] of cases) assert.equal(normalAddress(protocol, url), normal, url);
});

test('addressCredentials: RabbitMQ user info, decoded; none for Kafka or without user info', () => {
  assert.deepEqual(addressCredentials('rabbitmq', 'amqp://us%40er:p%3Ass@h:5672'), { username: 'us@er', password: 'p:ss' });
  assert.equal(addressCredentials('rabbitmq', 'amqp://h:5672'), undefined);
  assert.equal(addressCredentials('kafka', 'kafka://u:p@a:9092'), undefined);
  assert.equal(addressCredentials('rabbitmq', 'amqp://[bad'), undefined);
});

test('redactCredentials: user info out of URLs in any text, each element of a list alike', () => {
  const cases: Array<[string, string]> = [
    ['amqp://user:secret@host:5672', 'amqp://host:5672'],
    ['kafka://u:p@a:9092,kafka://u:p@b:9092', 'kafka://a:9092,kafka://b:9092'],
    ['connect ECONNREFUSED to amqp://guest:guest@127.0.0.1:5999 (attempt 3)', 'connect ECONNREFUSED to amqp://127.0.0.1:5999 (attempt 3)'],
    ["server 'amqps://a:b@mq/vhost' refused", "server 'amqps://mq/vhost' refused"],
    ['amqp://host:5672', 'amqp://host:5672'],
    ['no address here, user@example.com', 'no address here, user@example.com'],
  ];
  for (const [text, redacted] of cases) assert.equal(redactCredentials(text), redacted, text);
});
