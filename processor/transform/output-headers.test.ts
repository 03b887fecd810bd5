// srp.output.headers reads the INBOUND payload (sr-compat.md §3, the original's documentation): tutorial 3's
// `user=payload.fullName` after a SpEL transform that drops `fullName`; also through the pipeline (sync SpEL, async
// JSONata, a stateless UDF that drops the request's headers), and the outbound fallback when no inbound is given
// (the windowed path: `team=payload.team` on a user-score result).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { BindingConfig } from '../config';
import type { BinderStatus, InboundDelivery, OutputBinder } from '../binders/types';
import { Tap } from '../debug/tap';
import type { Message } from '../message';
import { ProcessorMetrics } from '../metrics';
import { Pipeline, type PipelineOptions } from '../pipeline/pipeline';
import type { Transform } from '../pipeline/stages';
import { buildTransforms, runTransforms } from './chain';
import { OutputHeaders } from './output-headers';

const TUTORIAL_3_SPEL = "{#jsonPath(payload,'$.fullName'): #jsonPath(payload,'$.email')}";
const user = { id: 'u1', fullName: 'Ada Lovelace', team: 'red', email: 'ada@example.com', score: 7, score_time: 1 };
const json = (value: unknown, headers: Record<string, string> = {}): Message => ({
  payload: Buffer.from(JSON.stringify(value)), headers: { contentType: 'application/json', ...headers },
});

test('payload.X reads the inbound payload; header.X the outbound headers, else the inbound ones', () => {
  const headers = new OutputHeaders('user=payload.fullName;team=payload.team;src=header.source;wm=header.watermark');
  const inbound = json(user, { source: 'generator' });
  const outbound: Message = { payload: Buffer.from(JSON.stringify({ [user.fullName]: user.email })), headers: { contentType: 'application/json', watermark: '5' }, key: Buffer.from('k') };
  const out = headers.apply(outbound, inbound);
  assert.equal(out.headers.user, 'Ada Lovelace', 'from the inbound payload although the transform removed fullName');
  assert.equal(out.headers.team, 'red');
  assert.equal(out.headers.wm, '5', 'outbound header');
  assert.equal(out.headers.src, 'generator', 'a header the outbound message lost is read from the inbound one');
  assert.equal(out.payload, outbound.payload, 'payload untouched');
  assert.deepEqual(out.key, Buffer.from('k'));
});

test('without an inbound message (windowed results) payload.X reads the outbound payload', () => {
  const result = json({ user: 'Ada', team: 'blue', userTotalScore: '12' });
  assert.equal(new OutputHeaders('team=payload.team').apply(result).headers.team, 'blue');
  assert.equal(new OutputHeaders('missing=payload.nope').apply(result).headers.missing, undefined, 'a missing source sets nothing');
});

class Output implements OutputBinder {
  readonly sent: Message[] = [];
  async start(): Promise<void> {}
  async send(message: Message): Promise<void> { this.sent.push(message); }
  async stop(): Promise<void> {}
  status(): BinderStatus { return { stream: 'out', protocol: 'kafka', destination: 'out', server: 'x', state: 'connected', inFlight: 0 }; }
}

const binding = (stream: string): BindingConfig => ({ stream, protocol: 'kafka', destination: stream, server: { url: 'x:1' } });

/** A pipeline as processor/pipeline/runtime.ts assembles it for a stateless Processor with these attributes. */
function pipelineFor(attributes: Record<string, string>, extra: Partial<PipelineOptions> = {}): { pipeline: Pipeline; out: Output } {
  const out = new Output();
  const transforms = buildTransforms(attributes);
  const transform: Transform | undefined = transforms.length === 0 ? undefined : (message) => {
    const outcome = runTransforms(transforms, message);
    if (outcome instanceof Promise) return outcome.then((o) => (o.kind === 'message' ? o.message : undefined));
    return outcome.kind === 'message' ? outcome.message : undefined;
  };
  const headers = new OutputHeaders(attributes['srp.output.headers']);
  const pipeline = new Pipeline({
    outputs: [{ binding: binding('out'), binder: out }],
    deadLetter: { binding: binding('dlq'), binder: new Output() },
    lateEventMode: 'DROP',
    metrics: new ProcessorMetrics({ processor: 't', namespace: 't', instance: '0' }),
    tap: new Tap(),
    log: pino({ level: 'silent' }),
    requireJsonPayload: transforms.length > 0,
    ...(transform ? { transform } : {}),
    outputHeaders: (m, inbound) => headers.apply(m, inbound),
    ...extra,
  });
  return { pipeline, out };
}

async function run(pipeline: Pipeline, message: Message): Promise<void> {
  const acked = new Promise<void>((resolve) => {
    const delivery: InboundDelivery = { message, partition: 0, ack: () => resolve() };
    pipeline.handler(binding('in'))(delivery);
  });
  await acked;
}

test("tutorial 3 through the pipeline: the SpEL transform drops fullName, the header 'user' still carries it", async () => {
  const { pipeline, out } = pipelineFor({ 'srp.spel.expression': TUTORIAL_3_SPEL, 'srp.output.headers': 'user=payload.fullName' });
  await run(pipeline, json(user));
  assert.equal(out.sent.length, 1);
  assert.deepEqual(JSON.parse(out.sent[0].payload.toString()), { 'Ada Lovelace': 'ada@example.com' });
  assert.equal(out.sent[0].headers.user, 'Ada Lovelace');
});

test('an asynchronous transform (JSONata) and a UDF that drops the headers: payload.X and header.X still come from the inbound message', async () => {
  const { pipeline, out } = pipelineFor({ 'srp.jsonata.expression': '{"name": $uppercase(fullName)}', 'srp.output.headers': 'user=payload.fullName;origin=header.origin' }, {
    // Like the original's Go uppercase UDF: the reply has a payload and no headers.
    udf: async (m) => [{ payload: Buffer.from(m.payload.toString().toUpperCase()), headers: {} }],
  });
  await run(pipeline, json(user, { origin: 'tests' }));
  assert.equal(out.sent.length, 1);
  assert.equal(out.sent[0].payload.toString(), '{"NAME":"ADA LOVELACE"}');
  assert.equal(out.sent[0].headers.user, 'Ada Lovelace');
  assert.equal(out.sent[0].headers.origin, 'tests');
});
