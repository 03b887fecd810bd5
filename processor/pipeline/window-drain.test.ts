// Issue 15: a windowed message whose timestamp cannot be extracted is dead-lettered; it must count as in flight
// (not as held by a window) until its dead letter is confirmed, so a shutdown waits for it. Before the fix the
// pipeline counted it as held forever: drain() returned at once while its dead letter was still unconfirmed (the
// input was then redelivered and dead-lettered twice), and every such message made later drains end one early.
// The real Pipeline, Windowing and clock; only the output binders are in memory, to hold a confirm back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { BindingConfig, ProcessorConfig } from '../config';
import type { BinderStatus, InboundDelivery, OutputBinder } from '../binders/types';
import { Tap } from '../debug/tap';
import type { Message } from '../message';
import { ProcessorMetrics } from '../metrics';
import { resolveWindowSettings } from '../window';
import { PipelineClock } from './clock';
import { Pipeline, type Route } from './pipeline';
import { Windowing } from './windowing';

class ManualOutput implements OutputBinder {
  readonly sent: Array<{ message: Message; confirm: () => void }> = [];
  async start(): Promise<void> {}
  send(message: Message): Promise<void> {
    return new Promise((resolve) => this.sent.push({ message, confirm: resolve }));
  }
  async stop(): Promise<void> {}
  status(): BinderStatus {
    return { stream: 'x', protocol: 'rabbitmq', destination: 'x', server: 'x', state: 'connected', inFlight: 0 };
  }
}

const binding = (stream: string): BindingConfig => ({ stream, protocol: 'rabbitmq', destination: stream, server: { url: 'amqp://x' } });

test('a windowed message without a usable timestamp stays in flight until its dead letter is confirmed', async () => {
  const input = binding('in');
  const config: ProcessorConfig = {
    name: 'w', namespace: 't', group: 'w', instanceIndex: 0, instanceCount: 1,
    inputs: [input], outputs: [binding('out')],
    attributes: { 'srp.window': '5s', 'srp.input.timestampExpression': 'payload.ts' },
    http: { port: 0 },
  };
  const settings = resolveWindowSettings(config.attributes);
  assert.ok(settings);
  const metrics = new ProcessorMetrics({ processor: 'w', namespace: 't', instance: '0' });
  const log = pino({ level: 'silent' });
  const clock = new PipelineClock(config);
  const windowing = new Windowing({ settings, clock, udf: undefined, outputHeaders: undefined, metrics, log, backpressure: () => undefined });
  const out = new ManualOutput();
  const dlq = new ManualOutput();
  const route = (name: string, binder: OutputBinder): Route => ({ binding: binding(name), binder });
  const pipeline = new Pipeline({
    outputs: [route('out', out)],
    deadLetter: route('dlq', dlq),
    lateEventMode: 'DROP',
    metrics, tap: new Tap(), log,
    requireJsonPayload: true,
    clock,
    window: (i, delivery, message, done) => windowing.add(i, delivery, message, done),
  });
  windowing.start(pipeline);
  try {
    const acks: string[] = [];
    const deliver = (payload: string): void => {
      const delivery: InboundDelivery = {
        message: { payload: Buffer.from(payload), headers: { contentType: 'application/json' } },
        partition: 0,
        ack: () => acks.push(payload),
      };
      pipeline.handler(input)(delivery);
    };
    // One event a window holds (legitimately not waited for by a drain) and one without a timestamp.
    deliver('{"ts": 1000, "n": 1}');
    deliver('{"n": 2}');
    await new Promise((r) => setImmediate(r));
    assert.equal(dlq.sent.length, 1, 'the message without a timestamp is dead-lettered');
    assert.equal(dlq.sent[0].message.headers['x-exception-stage'], 'timestamp');
    assert.equal(acks.length, 0);

    // Its dead letter is not confirmed yet: a shutdown must wait for it.
    assert.equal(await pipeline.drain(300), false, 'drain must not end while a dead letter is unconfirmed');
    const drained = pipeline.drain(5000);
    dlq.sent[0].confirm();
    assert.equal(await drained, true);
    assert.deepEqual(acks, ['{"n": 2}']);

    // Nothing leaked: the next message in flight is waited for as well.
    deliver('{"n": 3}');
    await new Promise((r) => setImmediate(r));
    assert.equal(dlq.sent.length, 2);
    assert.equal(await pipeline.drain(300), false, 'a second bad message is waited for too');
    dlq.sent[1].confirm();
    assert.equal(await pipeline.drain(5000), true);
    assert.equal(pipeline.pending, 1, 'only the window event is still unacknowledged');
  } finally {
    windowing.stop();
  }
});
