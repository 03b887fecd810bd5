// Builds the stateless transform chain from a Processor's attributes and runs it without promises when every
// step is synchronous. Order: filter (on the inbound payload) → SpEL → JSONata.

import type { Message } from '../message';
import { JsonataFilter, JsonataTransform } from './jsonata';
import { SpelTransform } from './spel-transform';
import type { Transform, TransformOutcome } from './types';

export const ATTRIBUTE_FILTER = 'srp.filter.expression';
export const ATTRIBUTE_SPEL = 'srp.spel.expression';
export const ATTRIBUTE_JSONATA = 'srp.jsonata.expression';

/** Throws (with the attribute named) when an expression does not compile. Empty values are ignored. */
export function buildTransforms(attributes: Readonly<Record<string, string>>): Transform[] {
  const transforms: Transform[] = [];
  const filter = attributes[ATTRIBUTE_FILTER]?.trim();
  if (filter) transforms.push(new JsonataFilter(filter));
  const spel = attributes[ATTRIBUTE_SPEL]?.trim();
  if (spel) transforms.push(new SpelTransform(spel));
  const jsonataSource = attributes[ATTRIBUTE_JSONATA]?.trim();
  if (jsonataSource) transforms.push(new JsonataTransform(jsonataSource));
  return transforms;
}

/** Runs the steps in order; stops at the first `filtered`. Synchronous while the steps are. Throws TransformError. */
export function runTransforms(
  transforms: readonly Transform[],
  message: Message,
  from = 0,
): TransformOutcome | Promise<TransformOutcome> {
  let current = message;
  for (let i = from; i < transforms.length; i++) {
    const outcome = transforms[i].apply(current);
    if (outcome instanceof Promise) {
      return outcome.then((resolved) =>
        resolved.kind === 'filtered' ? resolved : runTransforms(transforms, resolved.message, i + 1),
      );
    }
    if (outcome.kind === 'filtered') return outcome;
    current = outcome.message;
  }
  return { kind: 'message', message: current };
}
