// Window settings from a Processor's attributes. `srp.window` (or `srp.window.type`) turns window mode on; without
// them the processor is stateless and this returns undefined.

import { parseDuration } from '../../crds/expressions/duration';

export type WindowType = 'TUMBLING' | 'SLIDING' | 'SESSION';
export type LateEventMode = 'DROP' | 'UPSERT' | 'SIDE_CHANNEL';

export interface WindowSettings {
  type: WindowType;
  /** Window length (TUMBLING, SLIDING). For SESSION: 0. */
  sizeMs: number;
  /** SLIDING: distance between window starts. */
  slideMs: number;
  /** SESSION: a key's session closes after this much event time without events. */
  gapMs: number;
  allowedLatenessMs: number;
  lateEventMode: LateEventMode;
  /** `srp.window.idle.timeout`: a window without new events for this long (wall clock) is released partial. */
  idleTimeoutMs: number | undefined;
  /** `srp.window.maxState`: max buffered events over all windows. */
  maxState: number;
}

export const ATTRIBUTE_WINDOW = 'srp.window';
export const ATTRIBUTE_WINDOW_TYPE = 'srp.window.type';
export const ATTRIBUTE_WINDOW_SLIDE = 'srp.window.slide';
export const ATTRIBUTE_WINDOW_GAP = 'srp.window.gap';
export const ATTRIBUTE_WINDOW_IDLE_TIMEOUT = 'srp.window.idle.timeout';
export const ATTRIBUTE_WINDOW_MAX_STATE = 'srp.window.maxState';
export const ATTRIBUTE_ALLOWED_LATENESS = 'srp.allowedLateness';
export const ATTRIBUTE_LATE_EVENT_MODE = 'srp.lateEventMode';
export const DEFAULT_MAX_STATE = 100_000;

function duration(attributes: Readonly<Record<string, string>>, name: string): number | undefined {
  const text = attributes[name];
  if (text === undefined || text.trim() === '') return undefined;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new Error(`${name}: ${parsed.error}`);
  return parsed.value;
}

/** Throws an Error naming the attribute when a value is invalid. */
export function resolveWindowSettings(attributes: Readonly<Record<string, string>>): WindowSettings | undefined {
  const size = duration(attributes, ATTRIBUTE_WINDOW);
  const typeText = attributes[ATTRIBUTE_WINDOW_TYPE]?.trim().toUpperCase();
  if (size === undefined && !typeText) return undefined;
  const type = (typeText || 'TUMBLING') as WindowType;
  if (type !== 'TUMBLING' && type !== 'SLIDING' && type !== 'SESSION') {
    throw new Error(`${ATTRIBUTE_WINDOW_TYPE}: '${attributes[ATTRIBUTE_WINDOW_TYPE]}' is not TUMBLING, SLIDING or SESSION`);
  }
  const modeText = (attributes[ATTRIBUTE_LATE_EVENT_MODE]?.trim() || 'DROP').toUpperCase();
  if (modeText !== 'DROP' && modeText !== 'UPSERT' && modeText !== 'SIDE_CHANNEL') {
    throw new Error(`${ATTRIBUTE_LATE_EVENT_MODE}: '${attributes[ATTRIBUTE_LATE_EVENT_MODE]}' is not DROP, UPSERT or SIDE_CHANNEL`);
  }
  const maxStateText = attributes[ATTRIBUTE_WINDOW_MAX_STATE]?.trim();
  const maxState = maxStateText ? Number(maxStateText) : DEFAULT_MAX_STATE;
  if (!Number.isSafeInteger(maxState) || maxState < 1) {
    throw new Error(`${ATTRIBUTE_WINDOW_MAX_STATE}: '${maxStateText}' is not a positive integer`);
  }
  const settings: WindowSettings = {
    type,
    sizeMs: 0,
    slideMs: 0,
    gapMs: 0,
    allowedLatenessMs: duration(attributes, ATTRIBUTE_ALLOWED_LATENESS) ?? 0,
    lateEventMode: modeText,
    idleTimeoutMs: duration(attributes, ATTRIBUTE_WINDOW_IDLE_TIMEOUT),
    maxState,
  };
  if (type === 'SESSION') {
    const gap = duration(attributes, ATTRIBUTE_WINDOW_GAP) ?? size;
    if (!gap) throw new Error(`${ATTRIBUTE_WINDOW_GAP}: a SESSION window needs a positive gap (or ${ATTRIBUTE_WINDOW})`);
    settings.gapMs = gap;
    return settings;
  }
  if (!size) throw new Error(`${ATTRIBUTE_WINDOW}: a ${type} window needs a positive size`);
  settings.sizeMs = size;
  if (type === 'SLIDING') {
    const slide = duration(attributes, ATTRIBUTE_WINDOW_SLIDE);
    if (!slide) throw new Error(`${ATTRIBUTE_WINDOW_SLIDE}: a SLIDING window needs a positive slide`);
    if (slide > size) throw new Error(`${ATTRIBUTE_WINDOW_SLIDE}: the slide (${slide} ms) must not exceed the window size (${size} ms)`);
    settings.slideMs = slide;
  } else {
    settings.slideMs = size;
  }
  return settings;
}
