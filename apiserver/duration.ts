// Durations as kube-apiserver's flags and query parameters write them (Go's time.ParseDuration).

/** Go durations ("5m0s", "1h", "90s", "500ms") and our shorthand; returns milliseconds. */
export function parseGoDuration(text: string): number {
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[1]);
    const unit = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 }[m[2] as 'h'] ?? 0;
    total += n * unit;
    consumed += m[0].length;
  }
  if (consumed !== text.length || text === '') throw new Error(`invalid duration "${text}"`);
  return total;
}
