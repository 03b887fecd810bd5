// Ack bookkeeping without promises: counting latches and arrays of callbacks.
//
// A window holds the `done` of every row it absorbed in one array; when it fires, one latch counts its output rows
// and, when the last is confirmed, calls every held `done`. A row fanned out to n places gets a latch of n. Nothing
// here allocates per row beyond one closure per fan-out.
import type { Done } from './operator';

export const noop: Done = () => {};

/** A callback to be called `count` times; the `count`-th call calls `done`. `count` 0 calls `done` at once. */
export function latch(count: number, done: Done): Done {
  if (count <= 0) {
    done();
    return noop;
  }
  if (count === 1) return done;
  let left = count;
  return () => {
    if (--left === 0) done();
  };
}

/** One callback that releases every held `done` (in arrival order). */
export function releaseAll(held: Done[]): Done {
  if (held.length === 1) return held[0];
  return () => {
    for (let i = 0; i < held.length; i++) held[i]();
  };
}
