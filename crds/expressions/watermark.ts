// The watermark expression of a Stream's `timeAttributes[].watermark`, Flink SQL style:
//   `score_time` - INTERVAL '2' SECOND
// giving the event-time field and the bounded out-of-orderness. The original only understood this exact shape;
// we accept the same shape with any unit Flink accepts, plural units, a fractional amount, an unquoted field, and a
// bare field (no delay).

import { fail, ok, type ParseResult } from './result';

export interface WatermarkExpression {
  /** The event-time field, as written (e.g. `score_time`, `header.timestamp`). */
  field: string;
  /** The maximum out-of-orderness in milliseconds. */
  delayMs: number;
}

const UNIT_MS: Record<string, number> = {
  MILLISECOND: 1,
  SECOND: 1000,
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
};

export function parseWatermarkExpression(text: string): ParseResult<WatermarkExpression> {
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  skipSpace();
  let field: string;
  if (text[pos] === '`') {
    const close = text.indexOf('`', pos + 1);
    if (close < 0) return fail('unterminated `quoted` field name', pos);
    field = text.slice(pos + 1, close).trim();
    if (field === '') return fail('field name is empty', pos);
    pos = close + 1;
  } else {
    const match = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(pos));
    if (!match) return fail('expected the event-time field, e.g. `score_time` - INTERVAL \'2\' SECOND', pos);
    field = match[0];
    pos += field.length;
  }
  skipSpace();
  if (pos >= text.length) return ok({ field, delayMs: 0 });
  if (text[pos] !== '-') return fail(`expected '-' after the field, found '${text[pos]}'`, pos);
  pos++;
  skipSpace();
  const keyword = /^INTERVAL\b/i.exec(text.slice(pos));
  if (!keyword) return fail("expected INTERVAL 'n' UNIT after '-'", pos);
  pos += keyword[0].length;
  skipSpace();
  if (text[pos] !== "'") return fail("expected a quoted amount, e.g. '2'", pos);
  const amountStart = pos + 1;
  const amountEnd = text.indexOf("'", amountStart);
  if (amountEnd < 0) return fail('unterminated quoted amount', pos);
  const amountText = text.slice(amountStart, amountEnd).trim();
  if (!/^\d+(\.\d+)?$/.test(amountText)) {
    return fail(`invalid interval amount '${amountText}': expected a non-negative number`, amountStart);
  }
  pos = amountEnd + 1;
  skipSpace();
  const unitMatch = /^[A-Za-z]+/.exec(text.slice(pos));
  if (!unitMatch) return fail('expected a unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY)', pos);
  const unit = unitMatch[0].toUpperCase().replace(/S$/, '');
  const factor = UNIT_MS[unit];
  if (factor === undefined) {
    return fail(`unknown interval unit '${unitMatch[0]}': use MILLISECOND, SECOND, MINUTE, HOUR or DAY`, pos);
  }
  pos += unitMatch[0].length;
  skipSpace();
  if (pos < text.length) return fail(`unexpected '${text.slice(pos)}' after the interval`, pos);
  return ok({ field, delayMs: Math.round(Number(amountText) * factor) });
}
