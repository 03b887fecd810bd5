// Timestamps as Kubernetes writes metav1.Time: RFC 3339 in UTC at second precision. Many writes share a second, so
// the text is made once per second.
let cachedSecond = -1;
let cachedText = '';

export function nowRfc3339(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedText = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
  }
  return cachedText;
}
