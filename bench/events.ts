// Synthetic input for the in-process benchmarks: JSON messages from a seeded generator, so every run (and both
// paths compared in a run) see the same bytes.
import type { Message } from '../processor/message';

/** A linear congruential generator in [0, 1): cheap and the same on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

/** `count` JSON messages, the i-th from `event(i, random)`. */
export function jsonMessages<E>(count: number, seed: number, event: (i: number, random: () => number) => E): Message[] {
  const random = seededRandom(seed);
  const messages: Message[] = new Array(count);
  for (let i = 0; i < count; i++) {
    messages[i] = { payload: Buffer.from(JSON.stringify(event(i, random))), headers: { contentType: 'application/json' } };
  }
  return messages;
}
