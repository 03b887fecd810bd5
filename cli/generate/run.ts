// The generator's schedule, as the original's (StreamDataGeneratorApplication, RecordSenderThread): every stream
// starts after its batch.initialDelay, sends batch.size records with batch.messageDelay after each, and — with a
// batch.delay — starts the next batch that long after the previous one ended (a fixed delay); all stop at
// terminateAfter (or --duration, whichever comes first) or on stop(). Records are keyed by an incrementing number.
import { Faker, base, en } from '@faker-js/faker';
import type { GeneratorStream } from './config';
import type { ValueEncoder } from './avro';
import type { OutMessage, Sink } from './producer';
import { RecordGenerator, RecordSkipped } from './records';
import { SharedPool } from './spel';

export interface StreamTarget {
  stream: GeneratorStream;
  /** The topic or exchange (the Stream's spec.name). */
  destination: string;
  sink: Sink;
  encoder: ValueEncoder;
}

export interface StreamStats {
  name: string;
  destination: string;
  sent: number;
  skipped: number;
  /** Why the last record was skipped (the original logs it and sends nothing). */
  lastSkip?: string;
}

export interface RunOptions {
  /** Same seed, same records (for every stream; values taken from the shared pool depend on timing). */
  seed?: number;
  /** Stop after this long (also bounded by terminateAfter). */
  stopAfterMs?: number;
  now?: () => number;
}

/** A seeded Faker for the stream at `index` (each stream its own sequence, as each original generator has its own
 *  Random). */
export function fakerFor(seed: number, index: number): Faker {
  const faker = new Faker({ locale: [en, base] });
  faker.seed(seed + index * 7919);
  return faker;
}

export class GeneratorRun {
  readonly stats: StreamStats[];
  readonly shared = new SharedPool();
  private readonly stopController = new AbortController();
  private readonly generators: RecordGenerator[];
  private readonly seed: number;
  readonly startedAt = Date.now();

  constructor(private readonly targets: StreamTarget[], private readonly options: RunOptions = {}) {
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.stats = targets.map((t) => ({ name: t.stream.name, destination: t.destination, sent: 0, skipped: 0 }));
    // Compiling checks every expression before anything is sent.
    this.generators = targets.map((t) => new RecordGenerator(t.stream.schema, `stream ${t.stream.name}`));
  }

  get stopped(): boolean {
    return this.stopController.signal.aborted;
  }

  stop(): void {
    this.stopController.abort();
  }

  /** Runs every stream until done (no more batches), stopped, or the time is up. Rejects on a send error. */
  async run(): Promise<void> {
    const limit = this.options.stopAfterMs;
    const timer = limit !== undefined ? setTimeout(() => this.stop(), limit) : undefined;
    try {
      await Promise.all(this.targets.map((t, i) => this.runStream(t, i)));
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private async runStream(target: StreamTarget, index: number): Promise<void> {
    const { batch } = target.stream;
    const stats = this.stats[index];
    const faker = fakerFor(this.seed, index);
    const now = this.options.now ?? Date.now;
    const context = { faker, shared: this.shared, now };
    // The original starts keys at the wall clock; a seeded run starts at 0 so that keys repeat too.
    let key = this.options.seed !== undefined ? 0 : Date.now();
    if (!(await this.sleep(batch.initialDelayMs))) return;
    while (!this.stopped) {
      for (let i = 0; i < batch.size && !this.stopped; i++) {
        let record: Record<string, unknown> | undefined;
        try {
          record = this.generators[index].next(context);
        } catch (err) {
          if (!(err instanceof RecordSkipped)) throw err;
          stats.skipped++;
          stats.lastSkip = err.message;
        }
        let value: Buffer | undefined;
        try {
          value = record ? target.encoder.encode(record) : undefined;
        } catch (err) {
          // A value the schema cannot carry: skipped like a record that could not be made.
          stats.skipped++;
          stats.lastSkip = `it does not encode with the schema: ${err instanceof Error ? err.message : String(err)}`;
        }
        if (record && value) {
          key++;
          const message: OutMessage = {
            key: String(key), value, record,
            headers: target.encoder.contentType ? { contentType: target.encoder.contentType } : {},
          };
          await target.sink.send(target.destination, [message]);
          stats.sent++;
        }
        if (!(await this.sleep(batch.messageDelayMs))) return;
      }
      if (batch.delayMs === undefined) return;
      if (!(await this.sleep(batch.delayMs))) return;
    }
  }

  /** Waits, or less when stopped; false when stopped. */
  private sleep(ms: number): Promise<boolean> {
    const signal = this.stopController.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(true); }, ms);
      const onAbort = (): void => { clearTimeout(timer); resolve(false); };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** One line: per stream, records sent and the rate since the start. */
  progress(): string {
    const seconds = Math.max((Date.now() - this.startedAt) / 1000, 0.001);
    const parts = this.stats.map((s) => `${s.name} → ${s.destination}: ${s.sent} sent (${(s.sent / seconds).toFixed(1)}/s)${s.skipped ? `, ${s.skipped} skipped` : ''}`);
    return `[${seconds.toFixed(1)}s] ${parts.join(' | ')}`;
  }
}
