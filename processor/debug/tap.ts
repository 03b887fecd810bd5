// The tap: a sampled copy of the messages passing through, streamed as NDJSON to whoever listens on /debug/tap.
// Costs one boolean check per message when nobody listens.
import type { Message } from '../message';

/** `debug`: the rows of a streaming SQL processor's `debugQuery`. */
export type TapPoint = 'in' | 'out' | 'late' | 'dead-letter' | 'filtered' | 'debug';

export interface TapRecord {
  time: string;
  point: TapPoint;
  stream: string;
  partition?: number;
  headers: Record<string, string>;
  key?: string;
  /** UTF-8 text when the payload is valid text, else base64 with `payloadEncoding: 'base64'`. */
  payload: string;
  payloadEncoding?: 'base64';
}

interface TapSubscriber {
  sample: number;
  remaining: number;
  write: (line: string) => void;
  end: () => void;
}

function payloadText(payload: Buffer): { payload: string; payloadEncoding?: 'base64' } {
  const text = payload.toString('utf8');
  if (Buffer.byteLength(text) === payload.length && !text.includes('\uFFFD')) return { payload: text };
  return { payload: payload.toString('base64'), payloadEncoding: 'base64' };
}

export class Tap {
  private readonly subscribers = new Set<TapSubscriber>();

  get listeners(): number {
    return this.subscribers.size;
  }

  get active(): boolean {
    return this.subscribers.size > 0;
  }

  /** Registers a listener; `limit` 0 = unlimited. Returns the function that unsubscribes. */
  subscribe(sample: number, limit: number, write: (line: string) => void, end: () => void): () => void {
    const subscriber: TapSubscriber = { sample, remaining: limit > 0 ? limit : Infinity, write, end };
    this.subscribers.add(subscriber);
    return () => { this.subscribers.delete(subscriber); };
  }

  offer(point: TapPoint, stream: string, message: Message, partition?: number): void {
    if (this.subscribers.size === 0) return;
    let line: string | undefined;
    for (const subscriber of this.subscribers) {
      if (subscriber.sample < 1 && Math.random() >= subscriber.sample) continue;
      if (line === undefined) {
        const record: TapRecord = { time: new Date().toISOString(), point, stream, headers: message.headers, ...payloadText(message.payload) };
        if (partition !== undefined) record.partition = partition;
        if (message.key) record.key = message.key.toString('utf8');
        line = JSON.stringify(record) + '\n';
      }
      subscriber.write(line);
      if (--subscriber.remaining <= 0) {
        this.subscribers.delete(subscriber);
        subscriber.end();
      }
    }
  }

  closeAll(): void {
    for (const subscriber of this.subscribers) subscriber.end();
    this.subscribers.clear();
  }
}
