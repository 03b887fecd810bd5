// The storage seam (like k8s.io/apiserver/pkg/storage.Interface, much smaller): keys are full etcd keys, values are
// plain JSON objects stored WITHOUT metadata.resourceVersion; the revision is the etcd mod_revision.

export type JsonObject = Record<string, unknown>;

export interface StoredObject {
  key: string;
  object: JsonObject;
  /** etcd mod_revision of the key (the object's resourceVersion). */
  revision: number;
}

export interface ListPage {
  items: StoredObject[];
  /** The store revision the page was read at. */
  revision: number;
  /** True when more keys exist after the last item. */
  more: boolean;
}

export interface ListRequest {
  /** Read at this revision (0 = latest). */
  revision?: number;
  /** First key to return (inclusive), default the prefix itself. */
  startKey?: string;
  /** Maximum items (0 = all). */
  limit?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StorageEvent {
  type: WatchEventType;
  key: string;
  /** The new object (for DELETED: the last object before deletion). */
  object: JsonObject;
  /** The object before the change (MODIFIED, DELETED). */
  previous?: JsonObject;
  /** Revision of this change (for DELETED, the deletion revision). */
  revision: number;
}

export interface StorageWatch {
  stop(): void;
}

export interface WatchHandlers {
  /** Every change in order; revisions strictly increase and none is skipped or repeated. */
  onEvents(events: StorageEvent[], headerRevision: number): void;
  /** The requested revision was compacted away (the watch has ended). */
  onCompacted(compactRevision: number): void;
  /** A recoverable watch error (the watch reopens by itself; informational). */
  onError?(err: unknown): void;
  /** The connection to the store went away / came back (informational). */
  onConnectionChange?(connected: boolean): void;
}

/** What `tryUpdate` may answer: a new object, or "nothing to change", or "delete the key". */
export type UpdateDecision = { kind: 'put'; object: JsonObject } | { kind: 'unchanged' } | { kind: 'delete' };

export interface Storage {
  /**
   * Fails with KeyExistsError when the key exists. Returns the stored object at its new revision. `json`, when
   * given, is JSON.stringify(object), already made by the caller. `object` is kept as given (the watch may hand it
   * on): it must not be changed afterwards.
   */
  create(key: string, object: JsonObject, json?: string): Promise<StoredObject>;
  /** Consistent read from the store. */
  get(key: string): Promise<StoredObject | undefined>;
  list(prefix: string, request: ListRequest): Promise<ListPage>;
  /**
   * Read-modify-write with compare-and-swap, retried on concurrent change. `tryUpdate` runs against the current
   * object (the `suggestion` first, when given, to save a read); it may throw to abort.
   * Returns the result and whether the key was deleted.
   */
  guaranteedUpdate(key: string, tryUpdate: (current: StoredObject) => UpdateDecision | Promise<UpdateDecision>, suggestion?: StoredObject): Promise<{ stored: StoredObject; deleted: boolean; changed: boolean }>;
  /** Deletes when the key is at `expectedRevision`; otherwise answers the current object (or undefined if gone). */
  deleteIf(key: string, expectedRevision: number): Promise<{ deleted: true; revision: number } | { deleted: false; current?: StoredObject }>;
  /** Streams changes under `prefix` with revision > `afterRevision`. */
  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): StorageWatch;
  /** The store's current revision (a cheap consistent read). */
  currentRevision(): Promise<number>;
  /** Discards history before `revision`. */
  compact(revision: number): Promise<void>;
  /** True when the store answers within a short deadline. */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

export class KeyExistsError extends Error {
  constructor(readonly key: string) {
    super(`key exists: ${key}`);
  }
}

export class KeyNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`key not found: ${key}`);
  }
}

/** The requested revision is older than the store's compacted history. */
export class CompactedError extends Error {
  constructor(readonly compactRevision: number) {
    super(`required revision has been compacted (compacted at ${compactRevision})`);
  }
}

/** The store could not be reached in time. */
export class StorageUnavailableError extends Error {}

/** First key after every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
