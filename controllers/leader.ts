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
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export class LeaseLeaderLock implements LeaderLock {
  private readonly api: CoordinationV1Api;
  private readonly identity = `${hostname()}_${process.pid}`;
  private renewTimer: NodeJS.Timeout | undefined;
  private lostListeners: (() => void)[] = [];
  private lastRenew = 0;

  constructor(kc: KubeConfig, private readonly opts: LeaseOptions, private readonly log: Logger) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  async acquire(): Promise<void> {
    const retry = this.opts.retryPeriodMs ?? 2000;
    for (;;) {
      if (await this.tryAcquireOrRenew()) break;
      await new Promise((r) => setTimeout(r, retry));
    }
    this.log.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.identity }, 'became leader');
    this.renewTimer = setInterval(() => {
      void this.tryAcquireOrRenew().then((ok) => {
        if (ok) return;
        if (Date.now() - this.lastRenew > (this.opts.renewDeadlineMs ?? 10_000)) {
          if (this.renewTimer) clearInterval(this.renewTimer);
          for (const l of this.lostListeners) l();
        }
      });
    }, retry);
  }

  onLost(listener: () => void): void { this.lostListeners.push(listener); }

  async release(): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    try {
      const lease = await this.api.readNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace });
      if (lease.spec?.holderIdentity === this.identity) {
        lease.spec.holderIdentity = undefined;
        await this.api.replaceNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace, body: lease });
      }
    } catch { /* best effort: the lease expires anyway */ }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const duration = this.opts.leaseDurationSeconds ?? 15;
    const now = new Date();
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
        this.lastRenew = Date.now();
        return true;
      }
      const spec = lease.spec ?? {};
      const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
      const expired = renewed + (spec.leaseDurationSeconds ?? duration) * 1000 < Date.now();
      if (spec.holderIdentity && spec.holderIdentity !== this.identity && !expired) return false;
      const transitions = (spec.leaseTransitions ?? 0) + (spec.holderIdentity === this.identity ? 0 : 1);
      lease.spec = { ...spec, holderIdentity: this.identity, leaseDurationSeconds: duration, renewTime: now, leaseTransitions: transitions, ...(spec.holderIdentity === this.identity ? {} : { acquireTime: now }) };
      // replace carries metadata.resourceVersion: a concurrent writer makes this fail with 409 instead of two leaders.
      await this.api.replaceNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace, body: lease });
      this.lastRenew = Date.now();
      return true;
    } catch (err) {
      this.log.debug({ err: String(err) }, 'lease update lost a race');
      return false;
    }
  }
}
