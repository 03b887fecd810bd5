// Leader election. In a cluster (`--leader-elect`, kubernetes runtime): a coordination.k8s.io/v1 Lease, like
// client-go's leaderelection (acquire when expired, renew every retry period, step down — exit — on loss, so the
// pod restarts and becomes a follower). Locally (`sr up`), the API server serves only our group, so the lock is a
// pid file in the state directory: a second `sr controllers` on the same directory waits until the first exits.
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { existsSync, readFileSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { isAlive } from './runtime/local/supervisor';

export interface LeaderLock {
  /** Resolves once this process leads. */
  acquire(): Promise<void>;
  /** Called when leadership is lost after acquire (the caller exits). */
  onLost(listener: () => void): void;
  release(): Promise<void>;
}

export class FileLeaderLock implements LeaderLock {
  private held = false;
  constructor(private readonly file: string, private readonly log: Logger) {}

  async acquire(): Promise<void> {
    mkdirSync(dirname(this.file), { recursive: true });
    let warned = false;
    for (;;) {
      const other = existsSync(this.file) ? Number(readFileSync(this.file, 'utf8').trim()) : NaN;
      if (!Number.isInteger(other) || other === process.pid || !isAlive(other)) {
        writeFileSync(this.file, String(process.pid));
        // Re-read: the last writer wins if two started together.
        await new Promise((r) => setTimeout(r, 50));
        if (Number(readFileSync(this.file, 'utf8').trim()) === process.pid) { this.held = true; return; }
      }
      if (!warned) { this.log.info({ holder: other, file: this.file }, 'another controller holds the lock; waiting'); warned = true; }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  onLost(): void { /* a pid-file lock is only lost when this process ends */ }

  async release(): Promise<void> {
    if (this.held && existsSync(this.file) && Number(readFileSync(this.file, 'utf8').trim()) === process.pid) rmSync(this.file, { force: true });
    this.held = false;
  }
}

export interface LeaseOptions {
  namespace: string;
  name: string;
  /** This candidate's name in the Lease (default `<hostname>_<pid>`, unique per pod). */
  identity?: string;
  /** How long followers wait, after they last saw the Lease change, before taking it (default 15). */
  leaseDurationSeconds?: number;
  /** How long the leader keeps leading without a successful renewal (default 10 s; less than the lease duration). */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew (default 2 s; less than the renew deadline). */
  retryPeriodMs?: number;
  /** Longest wait for the API when releasing on shutdown (default 2 s). */
  releaseTimeoutMs?: number;
}

/** A time the API server accepts in a Lease: Kubernetes MicroTime is RFC 3339 with exactly six fractional digits.
 *  client-node serializes Lease times with Date's toISOString (three digits), which the API server rejects with
 *  400 (kubernetes-client/javascript#828), so every time this lock writes is one of these. */
export class MicroTime extends Date {
  override toISOString(): string { return super.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'); }
  override toJSON(): string { return this.toISOString(); }
}

/** acquire() was abandoned because the lock was released (shutdown) before it led. */
export class LeaseReleasedError extends Error {
  constructor() { super('the lease lock was released before it was acquired'); }
}

/**
 * client-go's leaderelection on a coordination.k8s.io/v1 Lease:
 * - a follower takes the Lease only when it is free or when it has not changed for `leaseDurationSeconds` of the
 *   follower's OWN clock since it last saw it change (so clock skew between nodes does not matter);
 * - every write carries the resourceVersion it read: of two candidates racing for a free Lease, one gets 409;
 * - the leader renews every retry period and steps down (`onLost`) once `renewDeadlineMs` has passed since it SENT
 *   its last successful renewal, even if requests hang: followers wait a full lease duration after they saw that
 *   renewal, which is later, so two leaders never overlap as long as renewDeadline < leaseDuration.
 */
export class LeaseLeaderLock implements LeaderLock {
  private readonly api: CoordinationV1Api;
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private renewTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private lostListeners: (() => void)[] = [];
  private leading = false;
  private released = false;
  /** The Lease as this candidate last saw it held by another, and when (local clock) it saw it change. */
  private observed: { record: string; at: number } | undefined;

  constructor(kc: KubeConfig, private readonly opts: LeaseOptions, private readonly log: Logger) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.identity = opts.identity ?? `${hostname()}_${process.pid}`;
    this.leaseDurationMs = (opts.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error('leader election: leaseDuration must exceed renewDeadline, which must exceed retryPeriod');
    }
  }

  /** True between acquiring the Lease and losing or releasing it. */
  get isLeader(): boolean { return this.leading; }

  async acquire(): Promise<void> {
    for (;;) {
      if (this.released) throw new LeaseReleasedError();
      const sentAt = Date.now();
      if (await this.tryAcquireOrRenew()) {
        if (this.released) throw new LeaseReleasedError();
        this.leading = true;
        this.renewed(sentAt);
        break;
      }
      await new Promise((r) => setTimeout(r, this.retryPeriodMs));
    }
    this.log.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.identity }, 'became leader');
    this.scheduleRenewal();
  }

  onLost(listener: () => void): void { this.lostListeners.push(listener); }

  async release(): Promise<void> {
    this.released = true;
    const wasLeading = this.leading;
    this.stopLeading();
    if (!wasLeading) return;
    // Hand the Lease over at once (client-go's ReleaseOnCancel) instead of letting followers wait for it to expire.
    const handOver = (async (): Promise<void> => {
      const lease = await this.api.readNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace });
      if (lease.spec?.holderIdentity !== this.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new MicroTime() };
      await this.api.replaceNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace, body: lease });
    })().catch(() => undefined); // best effort: the Lease expires anyway
    await Promise.race([handOver, new Promise((r) => setTimeout(r, this.opts.releaseTimeoutMs ?? 2000).unref())]);
  }

  /** One renewal at a time, every retry period; a request that hangs delays the next one but never the deadline. */
  private scheduleRenewal(): void {
    this.renewTimer = setTimeout(() => {
      void (async () => {
        const sentAt = Date.now();
        const ok = await this.tryAcquireOrRenew();
        if (!this.leading) return;
        if (ok) this.renewed(sentAt);
        this.scheduleRenewal();
      })();
    }, this.retryPeriodMs);
  }

  /** A renewal sent at `sentAt` succeeded: leadership now lasts until `sentAt + renewDeadline`. */
  private renewed(sentAt: number): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.lose(), Math.max(0, sentAt + this.renewDeadlineMs - Date.now()));
  }

  private lose(): void {
    if (!this.leading) return;
    this.stopLeading();
    this.log.error({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.identity }, 'leader election lost: no renewal within the renew deadline');
    for (const l of this.lostListeners) l();
  }

  private stopLeading(): void {
    this.leading = false;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const duration = this.leaseDurationMs / 1000;
    const now = new MicroTime();
    let lease: V1Lease | undefined;
    try {
      lease = await this.api.readNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) { this.log.warn({ err: String(err) }, 'reading lease failed'); return false; }
    }
    try {
      if (!lease) {
        await this.api.createNamespacedLease({
          namespace: this.opts.namespace,
          body: { metadata: { name: this.opts.name, namespace: this.opts.namespace }, spec: { holderIdentity: this.identity, leaseDurationSeconds: duration, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity;
      if (holder && holder !== this.identity) {
        // Expired only when it has not changed for a lease duration of OUR clock since we saw it change.
        const record = JSON.stringify([holder, spec.renewTime, spec.acquireTime, spec.leaseTransitions, spec.leaseDurationSeconds]);
        if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
        if (Date.now() < this.observed.at + (spec.leaseDurationSeconds ?? duration) * 1000) return false;
      }
      const transitions = (spec.leaseTransitions ?? 0) + (holder === this.identity ? 0 : 1);
      lease.spec = { ...spec, holderIdentity: this.identity, leaseDurationSeconds: duration, renewTime: now, leaseTransitions: transitions, ...(holder === this.identity ? {} : { acquireTime: now }) };
      // replace carries metadata.resourceVersion: a concurrent writer makes this fail with 409 instead of two leaders.
      await this.api.replaceNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace, body: lease });
      return true;
    } catch (err) {
      this.log.debug({ err: String(err) }, 'lease update lost a race');
      return false;
    }
  }
}
