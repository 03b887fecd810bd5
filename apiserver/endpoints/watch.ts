// Watch streaming (k8s.io/apiserver's WatchServer over the watch cache): one JSON event per line, flushed per event;
// resourceVersion semantics, selector transitions (ADDED/DELETED when an object enters/leaves the selection),
// bookmarks, timeoutSeconds, WatchList (sendInitialEvents + the k8s.io/initial-events-end bookmark), and 410 in the
// stream when the requested revision is no longer available.
import type { ServerResponse } from 'node:http';
import type { StorageEvent, JsonObject } from '../storage/interface';
import { CacheNotReadyError, TooOldRevisionError, type WatchCache } from '../storage/watch-cache';
import type { ResourceStore } from '../registry/store';
import type { FieldRequirement, LabelRequirement } from '../selectors';
import { ApiError, expired, invalid, resourceVersionTooLarge, serviceUnavailable, type Status } from '../errors';
import { invalid as invalidIssue, forbidden as forbiddenIssue } from '../../crds/validation/field-issue';

export interface WatchRequest {
  namespace: string;
  labelSelector: LabelRequirement[];
  fieldSelector: FieldRequirement[];
  resourceVersion: string;
  resourceVersionMatch: string;
  sendInitialEvents?: boolean;
  allowWatchBookmarks: boolean;
  timeoutSeconds?: number;
  /** Renders each object (plain, Table row, PartialObjectMetadata). `first` = first event of the stream. */
  render: (object: JsonObject, first: boolean) => unknown;
  /**
   * Watchers with the same key render every object identically (not true of Table, whose first event differs), so
   * an event's encoded line is computed once and shared by all of them; undefined = encode per watcher.
   */
  encodingKey?: string;
  /** Current storage revision (for consistent starts). */
  currentRevision: () => Promise<number>;
  onOpen?: () => void;
  onClose?: () => void;
  /** Limits of this server (flags); see WatchLimits. */
  limits: WatchLimits;
  /** Told when the watch is closed because its client does not read fast enough. */
  onTerminated?: () => void;
}

export interface WatchLimits {
  /**
   * Bytes a watcher may have waiting to be sent. A client that reads slower than events arrive is cut off at this
   * point (its connection or HTTP/2 stream destroyed, the bytes freed), like kube's cacher terminating a watcher
   * whose buffer is full; it resumes from the last resourceVersion it read. `--max-watch-buffer-bytes`.
   */
  maxBufferedBytes: number;
  /**
   * `--min-request-timeout`: a watch without timeoutSeconds lasts between this and twice this (random, so watches
   * of many clients do not all end together), and no watch lasts longer than twice this, whatever timeoutSeconds asks.
   */
  minRequestTimeoutSeconds: number;
}

const BOOKMARK_INTERVAL_MS = 60_000;
/** How long before a watch's deadline its last bookmark goes out (kube's cacheWatcher.nextBookmarkTime). */
const PRE_TIMEOUT_BOOKMARK_MS = 2000;
const TOO_LARGE_WAIT_MS = 3000;
/** How long a watch waits for the cache to (re)list before answering 503. */
const CACHE_READY_WAIT_MS = 3000;

/**
 * Encoded event lines by stored object (the watch cache hands the same object to every subscriber), then by
 * encoding key, event type and revision. With 20 watchers an event is serialized once instead of 20 times.
 */
const encodedLines = new WeakMap<JsonObject, Map<string, string>>();

function sharedLine(object: JsonObject, key: string, encode: () => string): string {
  let lines = encodedLines.get(object);
  if (!lines) { lines = new Map(); encodedLines.set(object, lines); }
  let line = lines.get(key);
  if (line === undefined) { line = encode(); lines.set(key, line); }
  return line;
}


/**
 * Validates the request and resolves the starting point before any byte is written, so errors can still be
 * answered with a normal Status response.
 */
export async function prepareWatch(cache: WatchCache, req: WatchRequest): Promise<void> {
  if (req.sendInitialEvents !== undefined) {
    if (req.resourceVersionMatch !== 'NotOlderThan') {
      throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [forbiddenIssue('resourceVersionMatch', "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")]);
    }
    if (req.sendInitialEvents && !req.allowWatchBookmarks) {
      throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [forbiddenIssue('allowWatchBookmarks', 'sendInitialEvents requires setting allowWatchBookmarks to true')]);
    }
  } else if (req.resourceVersionMatch !== '') {
    throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [forbiddenIssue('resourceVersionMatch', 'resourceVersionMatch is forbidden for watch')]);
  }
  if (req.resourceVersion !== '' && !/^\d+$/.test(req.resourceVersion)) {
    throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [invalidIssue('resourceVersion', req.resourceVersion, 'must be a non-negative integer')]);
  }
  // No watch before the cache has listed (at start, or relisting after etcd's history moved past it): a watch from
  // "" or "0" would start from an empty or stale snapshot. Wait a little, then 503 and let the client retry.
  if (!cache.ready && !(await cache.waitForRevision(0, CACHE_READY_WAIT_MS))) throw cacheNotReady();
  const rv = Number(req.resourceVersion || '0');
  if (rv > 0 && rv > cache.revision && !(await cache.waitForRevision(rv, TOO_LARGE_WAIT_MS))) throw resourceVersionTooLarge();
}

function cacheNotReady(): ApiError {
  return serviceUnavailable('storage is (re)initializing', 1);
}

export async function serveWatch(res: ServerResponse, cache: WatchCache, store: ResourceStore, req: WatchRequest): Promise<void> {
  const prefix = store.keyPrefix(req.namespace);
  let first = true;
  let lastSentRevision = 0;
  let closed = false;
  const matches = (o: JsonObject): boolean => store.matches(o, req.labelSelector, req.fieldSelector);

  const writeLine = (line: string): void => {
    if (closed) return;
    res.write(line);
    if (res.writableLength > req.limits.maxBufferedBytes) {
      req.onTerminated?.();
      finish(true);
    }
  };
  const write = (type: string, object: unknown): void => writeLine(JSON.stringify({ type, object }) + '\n');
  const encode = (type: string, object: JsonObject, revision: number): string =>
    JSON.stringify({ type, object: req.render(store.toApi({ object, revision }), first) }) + '\n';
  const sendObject = (type: string, object: JsonObject, revision: number): void => {
    if (closed) return;
    const key = req.encodingKey;
    writeLine(key === undefined ? encode(type, object, revision) : sharedLine(object, `${key}\u0000${type}\u0000${revision}`, () => encode(type, object, revision)));
    first = false;
    lastSentRevision = Math.max(lastSentRevision, revision);
  };
  const sendError = (status: Status): void => write('ERROR', status);
  const bookmark = (revision: number, initialEventsEnd = false): void => {
    write('BOOKMARK', {
      kind: store.definition.kind,
      apiVersion: store.apiVersion,
      metadata: { resourceVersion: String(revision), ...(initialEventsEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}) },
    });
    lastSentRevision = Math.max(lastSentRevision, revision);
  };

  const deliver = (events: StorageEvent[]): void => {
    for (const e of events) {
      const now = e.type === 'DELETED' ? false : matches(e.object);
      const before = e.previous ? matches(e.previous) : false;
      if (e.type === 'ADDED') { if (now) sendObject('ADDED', e.object, e.revision); continue; }
      if (e.type === 'DELETED') { if (before) sendObject('DELETED', e.previous ?? e.object, e.revision); continue; }
      if (now && before) sendObject('MODIFIED', e.object, e.revision);
      else if (now) sendObject('ADDED', e.object, e.revision);
      else if (before && e.previous) sendObject('DELETED', e.previous, e.revision);
    }
  };

  // Live events arrive a whole etcd revision at a time and leave in one write: coalesced writes share a revision
  // (storage/write-coalescer.ts), and a client resuming from a resourceVersion must have seen all of that revision.
  // A close or timeout on our side therefore never falls inside one.
  const deliverLive = (events: StorageEvent[]): void => {
    res.cork();
    try { deliver(events); } finally { res.uncork(); }
  };

  res.writeHead(200, {
    'content-type': 'application/json',
    'cache-control': 'no-cache, private',
    'x-content-type-options': 'nosniff',
  });
  res.flushHeaders();
  req.onOpen?.();

  let timers: NodeJS.Timeout[] = [];
  let unsubscribe: () => void = () => undefined;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => { resolveDone = r; });
  /** Ends the stream; `cutOff` destroys it instead, dropping what is buffered (a client that does not read). */
  function finish(cutOff = false): void {
    if (closed) return;
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers = [];
    unsubscribe();
    req.onClose?.();
    if (cutOff) res.destroy(); else res.end();
    resolveDone();
  }
  res.on('close', () => finish());

  const rvText = req.resourceVersion;
  const initial = req.sendInitialEvents === true || (req.sendInitialEvents === undefined && (rvText === '' || rvText === '0'));
  let startRevision: number;
  try {
    if (initial) {
      if (rvText === '' && req.sendInitialEvents === true) {
        // Consistent start, like a list with resourceVersion="".
        await cache.waitForRevision(await req.currentRevision(), 1500);
      }
      if (closed) return;
      const snap = cache.snapshot(prefix);
      startRevision = snap.revision;
      const sub = cache.subscribe(prefix, startRevision, { onEvents: deliverLive, onExpired: () => { sendError(expired('The resourceVersion for the provided watch is too old.').status); finish(); } });
      unsubscribe = sub.unsubscribe;
      for (const item of snap.items) if (matches(item.object)) sendObject('ADDED', item.object, item.revision);
      if (req.sendInitialEvents === true) bookmark(startRevision, true);
      deliver(sub.backlog);
    } else {
      startRevision = Number(rvText);
      const sub = cache.subscribe(prefix, startRevision, { onEvents: deliverLive, onExpired: () => { sendError(expired('The resourceVersion for the provided watch is too old.').status); finish(); } });
      unsubscribe = sub.unsubscribe;
      deliver(sub.backlog);
    }
  } catch (err) {
    if (err instanceof TooOldRevisionError) {
      sendError(expired(`too old resource version: ${err.requested} (${err.oldest})`).status);
    } else if (err instanceof CacheNotReadyError) {
      // The cache began relisting between prepareWatch and here: the client retries.
      sendError(cacheNotReady().status);
    } else if (err instanceof ApiError) {
      sendError(err.status);
    } else {
      sendError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', code: 500, reason: 'InternalError', message: String(err) });
    }
    finish();
    return done;
  }

  const minTimeoutMs = req.limits.minRequestTimeoutSeconds * 1000;
  const timeoutMs = req.timeoutSeconds !== undefined && req.timeoutSeconds > 0
    ? Math.min(req.timeoutSeconds * 1000, 2 * minTimeoutMs)
    : minTimeoutMs * (1 + Math.random());
  const deadline = Date.now() + timeoutMs;
  if (req.allowWatchBookmarks) {
    // As kube's cacheWatcher: a bookmark every minute and one 2 s before the deadline, so a client that resumes
    // after the timeout starts from as recent a resourceVersion as possible instead of replaying (or a 410).
    const scheduleBookmark = (): void => {
      const now = Date.now();
      const at = Math.min(now + BOOKMARK_INTERVAL_MS, deadline - PRE_TIMEOUT_BOOKMARK_MS);
      if (at <= now) return;
      timers.push(setTimeout(() => {
        if (closed) return;
        if (cache.revision > lastSentRevision) bookmark(cache.revision);
        scheduleBookmark();
      }, at - now));
    };
    scheduleBookmark();
  }
  timers.push(setTimeout(() => finish(), timeoutMs));
  return done;
}
