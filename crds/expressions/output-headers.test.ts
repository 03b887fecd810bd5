import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOutputHeaders } from './output-headers';

test('header and payload sources, as in the samples', () => {
  assert.deepEqual(parseOutputHeaders('user=payload.fullName'), {
    ok: true,
    value: [{ name: 'user', source: { kind: 'payload', path: ['fullName'] } }],
  });
  assert.deepEqual(parseOutputHeaders('test2=header.watermark;test3=header.watermark'), {
    ok: true,
    value: [
      { name: 'test2', source: { kind: 'header', name: 'watermark' } },
      { name: 'test3', source: { kind: 'header', name: 'watermark' } },
    ],
  });
  assert.deepEqual(parseOutputHeaders(" a = payload.x.y[0]['z w'] ; b=$.k;"), {
    ok: true,
    value: [
      { name: 'a', source: { kind: 'payload', path: ['x', 'y', '0', 'z w'] } },
      { name: 'b', source: { kind: 'payload', path: ['k'] } },
    ],
  });
  assert.deepEqual(parseOutputHeaders(''), { ok: true, value: [] });
});

test('errors carry offsets', () => {
  assert.deepEqual(parseOutputHeaders('a=header.x;b'), { ok: false, error: "expected NAME=EXPRESSION in 'b'", offset: 11 });
  assert.deepEqual(parseOutputHeaders('a=header.x;a=header.y'), { ok: false, error: "header 'a' is defined twice", offset: 11 });
  const unsupported = parseOutputHeaders('a= foo.bar');
  assert.equal(!unsupported.ok && unsupported.offset, 3);
  const badPath = parseOutputHeaders('a=payload..x');
  assert.equal(!badPath.ok && badPath.offset, 10);
});
