// Keeps the settings kube-apiserver publishes in ConfigMap kube-system/extension-apiserver-authentication current,
// as kube's DynamicCAContentFromConfigMap and RequestHeaderAuthRequestController do: the first read is retried
// with backoff until it succeeds (a cluster that is still starting, an RBAC binding not yet applied), then the
// ConfigMap is read again every minute so a rotated front-proxy or client CA is picked up. A failed or unusable read
// keeps what was loaded last. Until the first successful load the server is not ready (see `failure()`).
import type { Logger } from 'pino';
import type { PublishedAuthentication } from './delegation';

export const PUBLISHED_AUTHENTICATION_CHECK = 'extension-apiserver-authentication';

export interface PublishedAuthenticationTiming {
  /** Re-read interval once loaded (kube: one minute). */
  refreshMs: number;
  /** First retry after a failure, doubled up to `maxBackoffMs`. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** How long `start()` waits for the first read before the server starts without it. */
  firstReadWaitMs: number;
}

export const DEFAULT_PUBLISHED_AUTHENTICATION_TIMING: PublishedAuthenticationTiming = {
  refreshMs: 60_000,
  initialBackoffMs: 1_000,
  maxBackoffMs: 30_000,
  firstReadWaitMs: 5_000,
};

export class PublishedAuthenticationWatch {
  private loadedOnce = false;
  private lastError = 'not loaded yet';
  private lastData = '';
  private timer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private stopped = false;

  constructor(
    private readonly read: () => Promise<PublishedAuthentication>,
    /** Applies new settings; throws when they are unusable (e.g. a CA that does not parse). */
    private readonly apply: (published: PublishedAuthentication) => void,
    private readonly logger: Logger,
    private readonly timing: PublishedAuthenticationTiming = DEFAULT_PUBLISHED_AUTHENTICATION_TIMING,
  ) {
    this.backoffMs = timing.initialBackoffMs;
  }

  /** Starts the loop; resolves after the first read succeeded or failed, or after `firstReadWaitMs`. */
  async start(): Promise<void> {
    const first = this.attempt();
    let waitTimer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => { waitTimer = setTimeout(resolve, this.timing.firstReadWaitMs); });
    await Promise.race([first, waited]);
    clearTimeout(waitTimer);
  }

  /** Undefined once loaded; else why not (for `/readyz`). */
  failure(): string | undefined {
    return this.loadedOnce ? undefined : this.lastError;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async attempt(): Promise<void> {
    let delay: number;
    try {
      const published = await this.read();
      const data = JSON.stringify(published);
      if (data !== this.lastData) {
        this.apply(published);
        this.lastData = data;
        this.logger.info({ configMap: 'kube-system/extension-apiserver-authentication', firstLoad: !this.loadedOnce }, 'loaded the authentication settings kube-apiserver publishes');
      }
      this.loadedOnce = true;
      this.backoffMs = this.timing.initialBackoffMs;
      delay = this.timing.refreshMs;
    } catch (err) {
      this.lastError = err instanceof Error ? err.message : String(err);
      delay = this.loadedOnce ? Math.min(this.backoffMs, this.timing.refreshMs) : this.backoffMs;
      this.logger.warn(
        { err: this.lastError, retryInMs: delay, keeping: this.loadedOnce ? 'the settings loaded before' : 'nothing loaded yet' },
        'could not read kube-system/extension-apiserver-authentication',
      );
      this.backoffMs = Math.min(this.backoffMs * 2, this.timing.maxBackoffMs);
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => { void this.attempt(); }, delay);
    this.timer.unref();
  }
}
