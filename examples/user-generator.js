#!/usr/bin/env node
// A data generator for the sample pipeline, run by the local runtime as an SCS container: it reads the Spring
// Cloud Stream environment the controllers give SCS containers (output destination and Kafka brokers) and writes
// users in the tutorials' format {id, fullName, team, email, score, score_time} every INTERVAL_MS.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { Kafka, logLevel } = require('kafkajs');

const brokers = (process.env.SPRING_CLOUD_STREAM_KAFKA_BINDER_BROKERS || '127.0.0.1:9092').split(',');
const topic = process.env.SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_DESTINATION || 'users';
const interval = Number(process.env.INTERVAL_MS || 1000);
const names = ['ada', 'bob', 'cleo', 'dan', 'eve', 'fay', 'gus', 'hal'];
const teams = ['red', 'blue', 'green'];

async function main() {
  const producer = new Kafka({ clientId: 'user-generator', brokers, logLevel: logLevel.WARN }).producer();
  await producer.connect();
  console.log(`writing users to ${topic} on ${brokers.join(',')} every ${interval} ms`);
  let n = 0;
  const timer = setInterval(async () => {
    const name = names[n % names.length];
    const user = { id: `u-${n++}`, fullName: name, team: teams[n % teams.length], email: `${name}@example.com`, score: Math.floor(Math.random() * 100), score_time: Date.now() };
    try { await producer.send({ topic, messages: [{ value: JSON.stringify(user), headers: { contentType: 'application/json' } }] }); }
    catch (err) { console.error(`send failed: ${err.message}`); }
  }, interval);
  const stop = async () => { clearInterval(timer); await producer.disconnect(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
main().catch((err) => { console.error(err); process.exit(1); });
