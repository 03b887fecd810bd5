// Seeds for the fuzz tests (test/apiserver/fuzz*.test.ts): every run draws a fresh seed, so runs keep exploring new
// inputs, and prints it; `SR_FUZZ_SEED=<n>` replays the inputs of a run (the requests each index generates; the
// interleaving of concurrent clients is the machine's). Also the one way the fuzz tests send a request.
import { randomInt } from 'node:crypto';
import { request as httpsRequest, type RequestOptions } from 'node:https';

/** A seeded source of choices (mulberry32: small, fast, good enough to pick cases). */
export interface Random {
  /** In [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [min, max]. */
  between(min: number, max: number): number;
  pick<T>(choices: readonly T[]): T;
  chance(probability: number): boolean;
}

export function seededRandom(seed: number): Random {
  let a = seed | 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    between: (min, max) => min + int(max - min + 1),
    pick: (choices) => choices[int(choices.length)],
    chance: (probability) => next() < probability,
  };
}

/** The run's seed: `SR_FUZZ_SEED` when set (a replay), otherwise a fresh one. */
export function fuzzSeed(): number {
  const given = process.env.SR_FUZZ_SEED;
  if (given !== undefined && given !== '') {
    if (!/^\d+$/.test(given) || Number(given) > 0xffffffff) throw new Error(`SR_FUZZ_SEED must be an integer from 0 to 4294967295, not ${JSON.stringify(given)}`);
    return Number(given);
  }
  return randomInt(0, 0xffffffff);
}

/** How a test names its seed in diagnostics and failure messages. */
export function replayHint(seed: number): string {
  return `fuzz seed ${seed} (replay: SR_FUZZ_SEED=${seed})`;
}

/** A string as the bytes of its UTF-8 encoding, one latin1 character each: how non-ASCII travels in an HTTP header. */
export function utf8HeaderValue(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A fuzzed request's answer; status -1 when none came (the error in `body`). */
export interface FuzzAnswer {
  status: number;
  body: string;
}

/** One HTTPS request that never rejects: a connection error or no answer within 30 s is status -1, so a fuzz run
 *  records it with its input as a finding instead of stopping at the first one. */
export function sendFuzzed(url: URL, options: RequestOptions, body?: string | Buffer): Promise<FuzzAnswer> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ...options, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => resolve({ status: -1, body: String(err) }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', (err) => resolve({ status: -1, body: String(err) }));
    req.end(body);
  });
}
