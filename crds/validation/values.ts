// Type guards for walking untrusted objects: semantic rules run on whatever the user sent (even when the schema
// already failed), so they read fields defensively and never throw.

export type JsonObject = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `value`, or an empty one when it is absent or not an object. */
export function recordOf(value: unknown): JsonObject {
  return isRecord(value) ? value : {};
}

/** The array at `value`, or an empty one when it is absent or not an array. */
export function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Whether `value` is an absolute http:// or https:// URL with a host, without spaces. */
export function isHttpUrl(value: string): boolean {
  return /^https?:\/\//i.test(value) && isAbsoluteUrl(value);
}

/** Whether `value` is an absolute URL with an authority (scheme://host...), without spaces. */
export function isAbsoluteUrl(value: string): boolean {
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/\S+$/.test(value)) return false;
  try {
    return new URL(value).host.length > 0;
  } catch {
    return false;
  }
}
