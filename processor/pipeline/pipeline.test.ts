// The pipeline with in-memory binders: the ack model (acknowledge only after EVERY output confirmed), dead letters,
// in-order emission per partition with asynchronous stages, and drain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { BindingConfig } from '../config';
import type { BinderStatus, InboundDelivery, OutputBinder } from '../binders/types';
import { Tap } from '../debug/tap';
import type { Message } from '../message';
import { ProcessorMetrics } from '../metrics';
import { Pipeline, type PipelineOptions, type Route } from './pipeline';
import { StageError } from './stage-error';

class ManualOutput implements OutputBinder {
  readonly sent: Array<{ message: Message; partition: number | undefined; confirm: () => void }> = [];
  async start(): Promise<void> {}
  send(message: Message, partition?: number): Promise<void> {
    return new Promise((resolve) => this.sent.push({ message, partition, confirm: resolve }));
  }
  async stop(): Promise<void> {}
  status(): BinderStatus {
    return { stream: 'x', protocol: 'rabbitmq', destination: 'x', server: 'x', state: 'connected', inFlight: 0 };
  }
}

const binding = (stream: string): BindingConfig => ({ stream, protocol: 'rabbitmq', destination: stream, server: { url: 'amqp://x' } });

function setup(extra: Partial<PipelineOptions> = {}): { pipeline: Pipeline; a: ManualOutput; b: ManualOutput; dlq: ManualOutput } {
  const a = new ManualOutput();
  const b = new ManualOutput();
  const dlq = new ManualOutput();
  const route = (name: string, binder: OutputBinder): Route => ({ binding: binding(name), binder });
  const pipeline = new Pipeline({
    outputs: [route('a', a), route('b', b)],
    deadLetter: route('dlq', dlq),
    lateEventMode: 'DROP',
    metrics: new ProcessorMetrics({ processor: 't', namespace: 't', instance: '0' }),
    tap: new Tap(),
    log: pino({ level: 'silent' }),
    requireJsonPayload: false,
    ...extra,
  });
  return { pipeline, a, b, dlq };
}

function delivery(payload: string, acks: string[], partition = 0): InboundDelivery {
  return { message: { payload: Buffer.from(payload), headers: {} }, partition, ack: () => acks.push(payload) };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('an input is acknowledged only after every output confirmed', async () => {
  const { pipeline, a, b } = setup();
  const acks: string[] = [];
  pipeline.handler(binding('in'))(delivery('m1', acks));
  await tick();
  assert.equal(a.sent.length, 1);
  assert.equal(b.sent.length, 1);
  a.sent[0].confirm();
  await tick();
  assert.deepEqual(acks, [], 'one output confirmed is not enough');
  b.sent[0].confirm();
  await tick();
  assert.deepEqual(acks, ['m1']);
  assert.equal(await pipeline.drain(100), true);
});

test('a failing stage dead-letters with error headers, then acknowledges', async () => {
  const { pipeline, a, dlq } = setup({
    transform: (m) => {
      if (m.payload.toString() === 'bad') throw new StageError('transform', 'cannot transform');
      return m;
    },
  });
  const acks: string[] = [];
  const handle = pipeline.handler(binding('in'));
  handle(delivery('bad', acks, 3));
  handle(delivery('good', acks, 3));
  await tick();
  assert.equal(dlq.sent.length, 1);
  assert.equal(dlq.sent[0].message.headers['x-exception-stage'], 'transform');
  assert.equal(dlq.sent[0].message.headers['x-exception-message'], 'cannot transform');
  assert.equal(dlq.sent[0].message.headers['x-original-destination'], 'in');
  assert.equal(dlq.sent[0].message.headers['x-original-partition'], '3');
  assert.equal(a.sent.length, 1, 'processing continues');
  dlq.sent[0].confirm();
  await tick();
  assert.deepEqual(acks, ['bad']);
});

test('asynchronous stages overlap but outputs keep arrival order per partition; drain waits', async () => {
  const delays: Record<string, number> = { first: 30, second: 1 };
  const { pipeline, a, b } = setup({
    udf: (m) => new Promise((r) => setTimeout(() => r([m]), delays[m.payload.toString()] ?? 0)),
  });
  const acks: string[] = [];
  const handle = pipeline.handler(binding('in'));
  handle(delivery('first', acks));
  handle(delivery('second', acks));
  const drained = pipeline.drain(5000);
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(a.sent.map((s) => s.message.payload.toString()), ['first', 'second']);
  for (const s of [...a.sent, ...b.sent]) s.confirm();
  assert.equal(await drained, true);
  assert.deepEqual(acks.sort(), ['first', 'second']);
});
