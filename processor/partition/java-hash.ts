// Java's hashCode() for the values a partition key can be, so our partition choice matches a Spring Cloud Stream
// application's for the same key (mixed pipelines must agree on which partition a key lives in).

/** java.lang.String.hashCode(): s[0]*31^(n-1) + ... + s[n-1], in 32-bit int arithmetic over UTF-16 code units. */
export function javaStringHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

const scratch = new DataView(new ArrayBuffer(8));

/** Long.hashCode(v) = (int)(v ^ (v >>> 32)). */
function javaLongHashCode(value: bigint): number {
  const bits = BigInt.asUintN(64, value);
  return Number(BigInt.asIntN(32, bits ^ (bits >> 32n)));
}

/** Double.hashCode(v): the long hash of doubleToLongBits(v) (NaN canonicalised, as Java does). */
function javaDoubleHashCode(value: number): number {
  scratch.setFloat64(0, Number.isNaN(value) ? NaN : value);
  return javaLongHashCode(scratch.getBigUint64(0));
}

/**
 * hashCode() of the Java object Jackson/SpEL would produce for a JSON value: String, Integer (whole numbers in int
 * range), Long (larger whole numbers), Double (others), Boolean, List (JSON arrays, SpEL inline lists), Map, null → 0.
 */
export function javaHashCode(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'string') return javaStringHashCode(value);
  if (typeof value === 'boolean') return value ? 1231 : 1237;
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) return value | 0;
    if (Number.isSafeInteger(value)) return javaLongHashCode(BigInt(value));
    return javaDoubleHashCode(value);
  }
  if (typeof value === 'bigint') return javaLongHashCode(value);
  if (Array.isArray(value)) {
    // java.util.List.hashCode()
    let hash = 1;
    for (const item of value) hash = (Math.imul(hash, 31) + javaHashCode(item)) | 0;
    return hash;
  }
  if (typeof value === 'object') {
    // java.util.Map.hashCode(): sum over entries of (key.hashCode() ^ value.hashCode()).
    let hash = 0;
    for (const [key, item] of Object.entries(value)) hash = (hash + (javaStringHashCode(key) ^ javaHashCode(item))) | 0;
    return hash;
  }
  return javaStringHashCode(String(value));
}
