// Event time and watermarks for the pipeline: one timestamp extractor per input (its own time attribute), one
// watermark tracker over every (input, partition). Classifies each event on-time / late / discard.
import { parseDuration } from '../../crds/expressions/duration';
import type { ProcessorConfig } from '../config';
import { Headers, type Message } from '../message';
import {
  EventTimeExtractor,
  parseWatermarkHeader,
  resolveEventTime,
  resolveWatermarkIdleTimeout,
  WatermarkTracker,
} from '../time';
import type { EventClock, Timing } from './stages';
import { StageError } from './stage-error';

export const ATTRIBUTE_ALLOWED_LATENESS = 'srp.allowedLateness';

export function allowedLatenessMs(attributes: Readonly<Record<string, string>>): number {
  const text = attributes[ATTRIBUTE_ALLOWED_LATENESS];
  if (text === undefined || text.trim() === '') return 0;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new Error(`${ATTRIBUTE_ALLOWED_LATENESS}: ${parsed.error}`);
  return parsed.value;
}

export class PipelineClock implements EventClock {
  readonly tracker: WatermarkTracker;
  private readonly extractors = new Map<string, EventTimeExtractor>();
  private readonly allowedLatenessMs: number;

  constructor(config: ProcessorConfig, private readonly now: () => number = Date.now) {
    let maxOutOfOrdernessMs = 0;
    for (const input of config.inputs) {
      const settings = resolveEventTime(config.attributes, input.timeAttribute);
      maxOutOfOrdernessMs = Math.max(maxOutOfOrdernessMs, settings.maxOutOfOrdernessMs);
      this.extractors.set(input.stream, new EventTimeExtractor(settings, now));
    }
    this.tracker = new WatermarkTracker({ maxOutOfOrdernessMs, idleTimeoutMs: resolveWatermarkIdleTimeout(config.attributes) });
    this.allowedLatenessMs = allowedLatenessMs(config.attributes);
  }

  /** True when some input reads its event time from the payload (so the payload must be JSON). */
  readsPayload(): boolean {
    for (const extractor of this.extractors.values()) if (extractor.settings.source.kind === 'payload') return true;
    return false;
  }

  observe(inputKey: string, partition: number, message: Message): Timing {
    const extractor = this.extractors.get(inputKey);
    if (!extractor) throw new StageError('timestamp', `unknown input ${inputKey}`);
    let eventTime: number;
    try {
      eventTime = extractor.extract(message);
    } catch (err) {
      throw new StageError('timestamp', err instanceof Error ? err.message : String(err));
    }
    const watermark = this.tracker
      .partition(inputKey, partition)
      .observe(eventTime, parseWatermarkHeader(message.headers[Headers.watermark]), this.now());
    // As in the original: late when the watermark has passed the event; too late past the allowed lateness.
    let verdict: Timing['verdict'] = 'on-time';
    if (eventTime < watermark) verdict = eventTime < watermark - this.allowedLatenessMs ? 'discard' : 'late';
    return { eventTime, watermark, verdict };
  }

  watermark(): number {
    return this.tracker.current(this.now());
  }

  describe(): unknown {
    return this.tracker.describe(this.now());
  }
}
