// `srp.spel.expression`: the expression's result becomes the outbound payload (strings verbatim, maps/lists as JSON
// with contentType application/json). Headers are kept, as in the original.

import { compileSpel, type CompiledSpel } from '../expressions/spel';
import { encodeResult, payloadView } from '../expressions/payload';
import type { Message } from '../message';
import { errorMessage, TransformError, type Transform, type TransformOutcome } from './types';

export class SpelTransform implements Transform {
  readonly stage = 'spel';
  private readonly expression: CompiledSpel;

  /** Throws SpelCompileError when the text is outside the SpEL subset (validation normally caught it earlier). */
  constructor(source: string) {
    this.expression = compileSpel(source);
  }

  apply(message: Message): TransformOutcome {
    let encoded;
    try {
      const payload = payloadView(message.payload, message.headers.contentType);
      encoded = encodeResult(this.expression.evaluate({ payload, headers: message.headers }));
    } catch (error: unknown) {
      throw new TransformError(this.stage, `srp.spel.expression failed: ${errorMessage(error)}`, { cause: error });
    }
    const headers = encoded.structured ? { ...message.headers, contentType: 'application/json' } : message.headers;
    const out: Message = { payload: encoded.payload, headers };
    if (message.key) out.key = message.key;
    return { kind: 'message', message: out };
  }
}
