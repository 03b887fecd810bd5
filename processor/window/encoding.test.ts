import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WindowRelease } from './operator';
import {
  contentSubtype,
  decodePayloadCollection,
  decodeWindowReply,
  encodePayloadCollection,
  encodeWindowRequest,
  windowAsJsonArray,
} from './encoding';

function release(overrides: Partial<WindowRelease<number>> = {}): WindowRelease<number> {
  return {
    start: 5000,
    end: 10_000,
    key: undefined,
    events: [
      { timestamp: 5001, payload: Buffer.from('{"a":1}'), headers: { contentType: 'application/json' }, token: 1 },
      { timestamp: 5002, payload: Buffer.from('{"a":2}'), headers: { contentType: 'application/json' }, token: 2 },
    ],
    count: 2,
    tokens: [1, 2],
    partial: false,
    update: false,
    ...overrides,
  };
}

test('GrpcPayloadCollection wire format: field 1, length-delimited, multi-byte lengths', () => {
  assert.deepEqual([...encodePayloadCollection([Buffer.from('a'), Buffer.from('bc')])], [0x0a, 1, 0x61, 0x0a, 2, 0x62, 0x63]);
  const big = Buffer.alloc(300, 7);
  const encoded = encodePayloadCollection([big, Buffer.alloc(0)]);
  assert.deepEqual([...encoded.subarray(0, 3)], [0x0a, 0xac, 0x02]);
  assert.deepEqual(decodePayloadCollection(encoded), [big, Buffer.alloc(0)]);
  assert.deepEqual(decodePayloadCollection(Buffer.alloc(0)), []);
  // Unknown fields are skipped (a varint field 2 and a fixed64 field 3 around the payload).
  const withUnknown = Buffer.from([0x10, 0x05, 0x0a, 0x01, 0x41, 0x19, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(decodePayloadCollection(withUnknown), [Buffer.from('A')]);
  assert.throws(() => decodePayloadCollection(Buffer.from([0x0a, 0x05, 0x41])), /malformed GrpcPayloadCollection/);
});

test('window request: multipart/<subtype> and the window headers', () => {
  const request = encodeWindowRequest(release({ partial: true, key: 'red' }));
  assert.deepEqual(request.headers, {
    windowStartTime: '5000',
    windowEndTime: '10000',
    partial: 'true',
    windowKey: 'red',
    contentType: 'multipart/json',
  });
  assert.deepEqual(decodePayloadCollection(request.payload).map(String), ['{"a":1}', '{"a":2}']);
  assert.equal(contentSubtype('application/avro; charset=x'), 'avro');
  assert.equal(contentSubtype(undefined), 'json');
});

test('window reply: each multipart payload becomes a message with eventtime = end, watermark, window headers kept', () => {
  const reply = {
    payload: encodePayloadCollection([Buffer.from('{"team":"red","count":2}'), Buffer.from('{"team":"blue","count":1}')]),
    headers: { contentType: 'multipart/json', custom: 'x' },
  };
  const messages = decodeWindowReply(reply, release({ update: true }), 12_345);
  assert.equal(messages.length, 2);
  assert.equal(messages[1].payload.toString(), '{"team":"blue","count":1}');
  assert.deepEqual(messages[0].headers, {
    custom: 'x',
    windowStartTime: '5000',
    windowEndTime: '10000',
    partial: 'false',
    windowUpdate: 'true',
    contentType: 'application/json',
    eventtime: '10000',
    watermark: '12345',
  });
  const single = decodeWindowReply({ payload: Buffer.from('total=3'), headers: { contentType: 'text/plain' } }, release(), Number.NEGATIVE_INFINITY);
  assert.deepEqual(single, [
    {
      payload: Buffer.from('total=3'),
      headers: { windowStartTime: '5000', windowEndTime: '10000', partial: 'false', contentType: 'text/plain', eventtime: '10000' },
    },
  ]);
});

test('without a UDF: a JSON array of the window events', () => {
  const withText = release();
  withText.events = [...withText.events, { timestamp: 5003, payload: Buffer.from('plain "text"'), headers: { contentType: 'text/plain' }, token: 3 }];
  const message = windowAsJsonArray(withText, 10_000);
  assert.deepEqual(JSON.parse(message.payload.toString()), [{ a: 1 }, { a: 2 }, 'plain "text"']);
  assert.equal(message.headers.contentType, 'application/json');
  assert.equal(message.headers.windowEndTime, '10000');
  assert.equal(message.headers.watermark, '10000');
});
