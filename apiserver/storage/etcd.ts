// The etcd3 implementation of Storage: single-key compare-and-swap transactions (coalesced under load, see
// write-coalescer.ts), revision-pinned ranges, and a watch that never skips or repeats an event across reconnects
// (the etcd3 client would resume from the last header revision + 1, which can skip events it had not delivered yet).
import {
  CompareResult, CompareTarget, Etcd3, GRPCInvalidArgumentError, GRPCNotImplementedError,
  type IKeyValue, type IRequestOp, type IWatchResponse, type Watcher,
} from 'etcd3';
import {
  CompactedError, KeyExistsError, KeyNotFoundError, StorageUnavailableError, prefixEnd,
  type JsonObject, type ListPage, type ListRequest, type Storage, type StorageEvent, type StorageWatch,
  type StoredObject, type UpdateDecision, type WatchHandlers,
} from './interface';
import { WriteCoalescer, type KeyTxnResult, type Refusal } from './write-coalescer';
import { EtcdTxnClient } from './etcd-txn';

export interface EtcdStorageOptions {
  endpoints: string[];
  /** Per-call deadline (ms) for unary calls. */
  callTimeoutMs?: number;
  /** Observes the latency of every call (operation name, seconds). */
  observe?: (operation: string, seconds: number) => void;
  /**
   * Most writes sent to etcd in one transaction (default 1: every write alone, so every write has a revision of its
   * own; more coalesces concurrent writes, which then share a revision).
   */
  maxBatchedWrites?: number;
  /** Observes the number of writes in every transaction sent. */
  observeBatch?: (writes: number) => void;
  /** Told once when etcd (or an etcd-compatible store) refuses batched writes; they go one by one from then on. */
  onBatchingUnsupported?: (err: unknown) => void;
  /** Told when etcd refused a batch as too big and batches were made smaller (e.g. a lower --max-txn-ops). */
  onBatchLimitsLowered?: (limits: { maxBatch: number; maxBatchBytes: number }) => void;
}

/**
 * Write transactions on their way to etcd at once. Two keep etcd busy while the next batch gathers; more would only
 * split the queue into smaller batches.
 */
const WRITES_IN_FLIGHT = 2;
/** Below etcd's default --max-request-bytes (1.5 MiB). */
const MAX_BATCH_BYTES = 1024 * 1024;

const MAX_UPDATE_ATTEMPTS = 100;

/** Writes whose watch event has not come yet, kept to hand their objects on (each a few hundred bytes). */
const MAX_REMEMBERED_WRITES = 4096;

interface WrittenValue {
  value: Buffer;
  object: JsonObject;
}

function parseValue(kv: IKeyValue): JsonObject {
  return JSON.parse(kv.value.toString('utf8')) as JsonObject;
}

function toStored(kv: IKeyValue): StoredObject {
  return { key: kv.key.toString('utf8'), object: parseValue(kv), revision: Number(kv.mod_revision) };
}

function compactRevisionOf(err: unknown): number | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (!/compacted/i.test(message)) return undefined;
  const m = /compact(?:ed)?[^0-9]*(\d+)/i.exec(message);
  return m ? Number(m[1]) : 0;
}

function isUnavailable(err: unknown): boolean {
  const message = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /unavailable|deadline|ECONNREFUSED|circuit|No connection|connect|UNAVAILABLE|BrokenCircuit|Isolated/i.test(message);
}

/**
 * What etcd (or an etcd-compatible store) refused before applying anything, from its answer: etcd's request checks
 * (InvalidArgument: empty key, too many operations, request too large, two writes of a key) and a shape the store
 * does not take (kine answers "unsupported transaction" to nested transactions).
 */
export function etcdRefusal(err: unknown): Refusal | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err instanceof GRPCNotImplementedError || /unsupported transaction/i.test(err.message)) return 'unsupported';
  if (!(err instanceof GRPCInvalidArgumentError)) return undefined;
  if (/too many operations/i.test(err.message)) return 'too-many-writes';
  if (/too large/i.test(err.message)) return 'too-large';
  return 'invalid';
}

export class EtcdStorage implements Storage {
  private readonly client: Etcd3;
  private readonly callTimeoutMs: number;
  private readonly observe: (operation: string, seconds: number) => void;
  private readonly writes: WriteCoalescer;
  private readonly recentWrites = new Map<string, WrittenValue>();
  private readonly txns: EtcdTxnClient | undefined;

  constructor(options: EtcdStorageOptions) {
    this.callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.observe = options.observe ?? (() => undefined);
    const timeout = this.callTimeoutMs;
    this.client = new Etcd3({
      hosts: options.endpoints,
      dialTimeout: 3000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    });
    // Writes go through the plain gRPC call of etcd-txn.ts (etcd3 with TLS endpoints, which it leaves alone).
    const txns = EtcdTxnClient.forEndpoints(options.endpoints, timeout);
    this.txns = txns;
    this.writes = new WriteCoalescer(txns ? (request) => txns.txn(request) : (request) => this.client.kv.txn(request), {
      maxInFlight: WRITES_IN_FLIGHT,
      maxBatch: options.maxBatchedWrites ?? 1,
      maxBatchBytes: MAX_BATCH_BYTES,
      refusal: etcdRefusal,
      onBatch: options.observeBatch,
      onNestedUnsupported: options.onBatchingUnsupported,
      onLimitsLowered: options.onBatchLimitsLowered,
    });
  }

  /** One compare-and-swap on `key`: `success` when its mod_revision is `expected` (0: absent), else a read of it. */
  private casTxn(operation: string, key: Buffer, expected: string, success: IRequestOp, readOnFailure: boolean, bytes: number): Promise<KeyTxnResult> {
    return this.call(operation, () => this.writes.submit({
      key,
      compare: [{ key, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: expected }],
      success: [success],
      failure: readOnFailure ? [{ request_range: { key } }] : [],
      bytes: key.length + bytes,
    }));
  }

  /** Runs one call, recording its latency and translating transport failures. */
  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      return await run();
    } catch (err) {
      const compacted = compactRevisionOf(err);
      if (compacted !== undefined) throw new CompactedError(compacted);
      if (isUnavailable(err)) throw new StorageUnavailableError(`etcd is unavailable: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    } finally {
      this.observe(operation, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  async create(key: string, object: JsonObject, json?: string): Promise<StoredObject> {
    const keyBuf = Buffer.from(key);
    const value = Buffer.from(json ?? JSON.stringify(object));
    const written = this.rememberWrite(key, value, object);
    try {
      const res = await this.casTxn('create', keyBuf, '0', { request_put: { key: keyBuf, value } }, false, value.length);
      if (!res.succeeded) throw new KeyExistsError(key);
      return { key, object, revision: res.revision };
    } catch (err) {
      this.forgetWrite(key, written);
      throw err;
    }
  }

  /**
   * Remembers the object of a write on its way, so that the watch can hand on the object instead of parsing the
   * value again when the event carries exactly these bytes (the event may come before or after the answer).
   */
  private rememberWrite(key: string, value: Buffer, object: JsonObject): WrittenValue {
    const written = { value, object };
    this.recentWrites.delete(key);
    this.recentWrites.set(key, written);
    // Events that never come (no watch open, or it is behind): the oldest are forgotten, and then parsed as before.
    if (this.recentWrites.size > MAX_REMEMBERED_WRITES) this.recentWrites.delete(this.recentWrites.keys().next().value as string);
    return written;
  }

  private forgetWrite(key: string, written: WrittenValue): void {
    if (this.recentWrites.get(key) === written) this.recentWrites.delete(key);
  }

  /** The object of a watched key-value: the one written by this process when the bytes are the same, else parsed. */
  private objectOf(key: string, kv: IKeyValue): JsonObject {
    const written = this.recentWrites.get(key);
    if (written && written.value.equals(kv.value)) {
      this.recentWrites.delete(key);
      return written.object;
    }
    return parseValue(kv);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const res = await this.call('get', () => this.client.kv.range({ key: Buffer.from(key) }));
    return res.kvs.length > 0 ? toStored(res.kvs[0]) : undefined;
  }

  async list(prefix: string, request: ListRequest): Promise<ListPage> {
    const prefixBuf = Buffer.from(prefix);
    const res = await this.call('list', () => this.client.kv.range({
      key: request.startKey ? Buffer.from(request.startKey) : prefixBuf,
      range_end: prefixEnd(prefixBuf),
      limit: request.limit ? String(request.limit) : '0',
      revision: request.revision ? String(request.revision) : '0',
    }));
    return { items: res.kvs.map(toStored), revision: Number(res.header.revision), more: Boolean(res.more) };
  }

  async guaranteedUpdate(
    key: string,
    tryUpdate: (current: StoredObject) => UpdateDecision | Promise<UpdateDecision>,
    suggestion?: StoredObject,
  ): Promise<{ stored: StoredObject; deleted: boolean; changed: boolean }> {
    const keyBuf = Buffer.from(key);
    let current = suggestion ?? (await this.get(key));
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      if (!current) throw new KeyNotFoundError(key);
      const decision = await tryUpdate(current);
      if (decision.kind === 'unchanged') {
        // A suggestion may be stale: only a fresh read proves "unchanged" (like kube's cache-assisted update).
        if (suggestion && attempt === 0) {
          const fresh = await this.get(key);
          if (!fresh || fresh.revision !== current.revision) { current = fresh; continue; }
        }
        return { stored: current, deleted: false, changed: false };
      }
      const expected = String(current.revision);
      const value = decision.kind === 'delete' ? undefined : Buffer.from(JSON.stringify(decision.object));
      const op: IRequestOp = value ? { request_put: { key: keyBuf, value } } : { request_delete_range: { key: keyBuf } };
      const res = await this.casTxn('update', keyBuf, expected, op, true, value?.length ?? 0);
      if (res.succeeded) {
        const revision = res.revision;
        if (decision.kind === 'delete') return { stored: { key, object: current.object, revision }, deleted: true, changed: true };
        return { stored: { key, object: decision.object, revision }, deleted: false, changed: true };
      }
      const kvs = res.responses[0]?.response_range?.kvs ?? [];
      current = kvs.length > 0 ? toStored(kvs[0]) : undefined;
    }
    throw new Error(`too many concurrent updates of ${key}`);
  }

  async deleteIf(key: string, expectedRevision: number): Promise<{ deleted: true; revision: number } | { deleted: false; current?: StoredObject }> {
    const keyBuf = Buffer.from(key);
    const res = await this.casTxn('delete', keyBuf, String(expectedRevision), { request_delete_range: { key: keyBuf } }, true, 0);
    if (res.succeeded) return { deleted: true, revision: res.revision };
    const kvs = res.responses[0]?.response_range?.kvs ?? [];
    return { deleted: false, current: kvs.length > 0 ? toStored(kvs[0]) : undefined };
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): StorageWatch {
    let lastDelivered = afterRevision;
    let stopped = false;
    let watcher: Watcher | undefined;
    let connected = true;

    const open = (): void => {
      if (stopped) return;
      const w = this.client.watch().prefix(prefix).startRevision(String(lastDelivered + 1)).withPreviousKV().watcher();
      watcher = w;
      w.on('data', (res: IWatchResponse) => onData(res));
      w.on('connected', () => { if (!connected) { connected = true; handlers.onConnectionChange?.(true); } });
      w.on('disconnected', () => {
        if (connected) { connected = false; handlers.onConnectionChange?.(false); }
        // The client resumes from the last *header* revision + 1, which can skip events it had not delivered yet
        // (a catch-up split over several responses). Resume from the last revision we delivered instead.
        (w.request as { start_revision?: string }).start_revision = String(lastDelivered + 1);
      });
      w.on('error', (err: unknown) => {
        // etcd cancelled the watch (compacted start revision, or it went away mid-creation). The client has
        // dropped this watcher: find out which, then report the compaction or reopen.
        w.removeAllListeners();
        if (watcher === w) watcher = undefined;
        if (stopped) return;
        void this.checkCompacted(lastDelivered + 1).then((compactRevision) => {
          if (stopped) return;
          if (compactRevision !== undefined) {
            stopped = true;
            handlers.onCompacted(compactRevision);
            return;
          }
          handlers.onError?.(err);
          setTimeout(open, 500);
        });
      });
    };

    const onData = (res: IWatchResponse): void => {
      if (stopped) return;
      const compactRevision = Number(res.compact_revision ?? 0);
      if (compactRevision > 0 && compactRevision > lastDelivered + 1) {
        stopped = true;
        handlers.onCompacted(compactRevision);
        return;
      }
      const events: StorageEvent[] = [];
      let batchRevision = lastDelivered;
      for (const e of res.events ?? []) {
        const revision = Number(e.kv.mod_revision);
        // Never repeat: anything at or below what we already delivered is a replay after a reconnect.
        if (revision <= lastDelivered) continue;
        batchRevision = Math.max(batchRevision, revision);
        const key = e.kv.key.toString('utf8');
        const previous = e.prev_kv && e.prev_kv.value && e.prev_kv.value.length > 0 ? parseValue(e.prev_kv) : undefined;
        if (e.type === 'Delete') {
          if (!previous) continue;
          events.push({ type: 'DELETED', key, object: previous, previous, revision });
        } else {
          const object = this.objectOf(key, e.kv);
          const created = e.kv.create_revision === e.kv.mod_revision;
          events.push({ type: created ? 'ADDED' : 'MODIFIED', key, object, previous, revision });
        }
      }
      lastDelivered = batchRevision;
      handlers.onEvents(events, Number(res.header.revision));
    };

    open();
    return {
      stop: () => {
        stopped = true;
        const w = watcher;
        watcher = undefined;
        if (w) { w.removeAllListeners(); void w.cancel().catch(() => undefined); }
      },
    };
  }

  /** The compaction revision when `revision` is no longer readable; undefined when it is (or etcd is away). */
  private async checkCompacted(revision: number): Promise<number | undefined> {
    try {
      await this.client.kv.range({ key: Buffer.from('\0'), count_only: true, revision: String(revision) }, { deadline: Date.now() + 3000 });
      return undefined;
    } catch (err) {
      return compactRevisionOf(err);
    }
  }

  async currentRevision(): Promise<number> {
    const res = await this.call('revision', () => this.client.kv.range({ key: Buffer.from('\0'), count_only: true }));
    return Number(res.header.revision);
  }

  async compact(revision: number): Promise<void> {
    await this.call('compact', () => this.client.kv.compact({ revision: String(revision), physical: false }));
  }

  async healthy(): Promise<boolean> {
    try {
      await this.client.kv.range({ key: Buffer.from('health'), count_only: true }, { deadline: Date.now() + 2000 });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.txns?.close();
    this.client.close();
  }
}
