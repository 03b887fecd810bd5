// JSONata stages: `srp.jsonata.expression` (transform: the result, as JSON, is the new payload) and
// `srp.filter.expression` (predicate: a falsy result filters the message). Each expression is compiled once.
// Inside the expression, the input is the payload (parsed JSON, or text) and `$headers` is the header map.

import jsonata from 'jsonata';
import { payloadView } from '../expressions/payload';
import type { Message } from '../message';
import { errorMessage, TransformError, type Transform, type TransformOutcome } from './types';

type CompiledJsonata = ReturnType<typeof jsonata>;

/** Binding `$headers` costs a quarter of an evaluation: only expressions that mention it get it. */
function bindingsFor(source: string, message: Message): Record<string, unknown> | undefined {
  return source.includes('$headers') ? { headers: message.headers } : undefined;
}

function compile(source: string, attribute: string): CompiledJsonata {
  try {
    return jsonata(source);
  } catch (error: unknown) {
    throw new Error(`${attribute} is not valid JSONata: ${errorMessage(error)}`);
  }
}

/** Evaluates a compiled expression over a message's payload; a failure becomes the stage's TransformError. */
async function evaluate(
  expression: CompiledJsonata,
  source: string,
  message: Message,
  stage: string,
  attribute: string,
): Promise<unknown> {
  try {
    const input = payloadView(message.payload, message.headers.contentType);
    return await expression.evaluate(input, bindingsFor(source, message));
  } catch (error: unknown) {
    throw new TransformError(stage, `${attribute} failed: ${errorMessage(error)}`, { cause: error });
  }
}

export class JsonataTransform implements Transform {
  readonly stage = 'jsonata';
  private readonly expression: CompiledJsonata;

  constructor(private readonly source: string) {
    this.expression = compile(source, 'srp.jsonata.expression');
  }

  async apply(message: Message): Promise<TransformOutcome> {
    const result = await evaluate(this.expression, this.source, message, this.stage, 'srp.jsonata.expression');
    if (result === undefined) {
      throw new TransformError(this.stage, 'srp.jsonata.expression produced no value for this message');
    }
    const out: Message = {
      payload: Buffer.from(JSON.stringify(result), 'utf8'),
      headers: { ...message.headers, contentType: 'application/json' },
    };
    if (message.key) out.key = message.key;
    return { kind: 'message', message: out };
  }
}

export class JsonataFilter implements Transform {
  readonly stage = 'filter';
  private readonly expression: CompiledJsonata;

  constructor(private readonly source: string) {
    this.expression = compile(source, 'srp.filter.expression');
  }

  async apply(message: Message): Promise<TransformOutcome> {
    const result = await evaluate(this.expression, this.source, message, this.stage, 'srp.filter.expression');
    if (jsonataTruthy(result)) return { kind: 'message', message };
    return { kind: 'filtered', reason: `srp.filter.expression '${this.source}' is false` };
  }
}

/** JSONata's $boolean() casting rules: empty/zero/null/false and arrays of only falsy values are false. */
export function jsonataTruthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'function') return false;
  if (Array.isArray(value)) return value.some(jsonataTruthy);
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return false;
}
