// `header.timestamp` (anomaly-detection light's time attribute "`header.timestamp` - INTERVAL '3' SECOND"): the
// original read Spring Messaging's `timestamp` header, the moment Spring built the message in the processor; brokers
// carry no such header, so it resolves to the moment the processor takes the message (a message that does carry a
// `timestamp` header keeps its value). Other missing headers remain an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventTimeError, EventTimeExtractor, resolveEventTime } from './event-time';

const message = (headers: Record<string, string>) => ({ payload: Buffer.from('{"card_number":"1"}'), headers });

test("anomaly detection light: header.timestamp resolves to the processor's receive time, 3 s out-of-orderness", () => {
  const settings = resolveEventTime({}, { field: 'header.timestamp', watermark: "`header.timestamp` - INTERVAL '3' SECOND" });
  assert.deepEqual(settings.source, { kind: 'header', name: 'timestamp' });
  assert.equal(settings.maxOutOfOrdernessMs, 3000);
  let now = 1_700_000_000_000;
  const extractor = new EventTimeExtractor(settings, () => now);
  assert.equal(extractor.extract(message({ contentType: 'application/json' })), 1_700_000_000_000);
  now += 1234;
  assert.equal(extractor.extract(message({})), 1_700_000_001_234, 'each message: the moment it is taken');
  assert.equal(extractor.extract(message({ timestamp: '42' })), 42, 'a timestamp header that is there is read');
});

test('any other missing header is still an error (dead-lettered), not a silent clock', () => {
  const extractor = new EventTimeExtractor(resolveEventTime({ 'srp.input.timestampExpression': 'header.eventtime' }), () => 5);
  assert.throws(() => extractor.extract(message({})), (err: unknown) => err instanceof EventTimeError && /no header 'eventtime'/.test(err.message));
});
