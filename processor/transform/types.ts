// The seam between the pipeline (processor runtime) and the stateless message functions in this folder.
import type { Message } from '../message';

export type TransformOutcome =
  | { kind: 'message'; message: Message }
  /** The message is dropped on purpose (filter): the runtime counts it and acknowledges it, nothing is produced. */
  | { kind: 'filtered'; reason: string };

/**
 * One stateless step over a message. Synchronous steps return the outcome directly (no promise on the hot path);
 * JSONata steps return a promise. A thrown error means the message failed: the runtime dead-letters it with
 * `x-exception-stage` = `stage` (see TransformError).
 */
export interface Transform {
  /** Short stable name for logs, metrics and the dead-letter header: `filter`, `spel`, `jsonata`. */
  readonly stage: string;
  apply(message: Message): TransformOutcome | Promise<TransformOutcome>;
}

/** A message failed in a transform. `stage` is what the dead-letter header `x-exception-stage` should say. */
export class TransformError extends Error {
  constructor(
    readonly stage: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransformError';
  }
}

/** Text of an error, including JSONata's plain-object errors `{ code, message, position }`. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error && !('code' in error && 'position' in error)) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { message, code, position } = error as { message?: unknown; code?: unknown; position?: unknown };
    const where = typeof position === 'number' ? ` at offset ${position}` : '';
    return `${String(message)}${typeof code === 'string' ? ` (${code}${where})` : ''}`;
  }
  return String(error);
}
