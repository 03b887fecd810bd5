// Lists with Kubernetes' resourceVersion semantics, served from the watch cache when it is fresh enough and read
// from etcd at a pinned revision otherwise, in pages joined by continue tokens (k8s.io/apiserver's storage
// GetList + the continue key of apimachinery's storage package). A continue token pins the first page's
// revision, so every page of one list is read at the same revision; after compaction it answers 410 Expired.
import { badRequest, expired, invalid, resourceVersionTooLarge } from '../errors';
import { forbidden as forbiddenIssue, invalid as invalidIssue } from '../../crds/validation/field-issue';
import { CompactedError, type JsonObject, type Storage, type StoredObject } from '../storage/interface';
import type { WatchCache } from '../storage/watch-cache';
import { matchesObject, type FieldRequirement, type LabelRequirement } from '../selectors';
import { isRecord } from './object-meta';

export interface ListOptions {
  labelSelector: LabelRequirement[];
  fieldSelector: FieldRequirement[];
  limit: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  items: JsonObject[];
  revision: number;
  continueToken?: string;
  remainingItemCount?: number;
}

const CONSISTENT_READ_WAIT_MS = 1500;
const TOO_LARGE_WAIT_MS = 3000;
const CONTINUE_TOO_OLD = 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';
const LIST_OPTIONS_KIND = { group: 'meta.k8s.io', kind: 'ListOptions' };

interface ContinueToken {
  rv: number;
  /** The key to start from, relative to the resource's prefix (so a token cannot reach another resource). */
  start: string;
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: token.rv, start: token.start })).toString('base64url');
}

export function decodeContinue(text: string): ContinueToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (isRecord(parsed) && parsed.v === 'meta.k8s.io/v1' && typeof parsed.rv === 'number' && typeof parsed.start === 'string' && parsed.rv > 0) {
      return { rv: parsed.rv, start: parsed.start };
    }
  } catch { /* fall through */ }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

export class ListReader {
  constructor(
    private readonly storage: Storage,
    private readonly cache: WatchCache,
    /** Every key of the resource starts with it; continue tokens are relative to it. */
    private readonly resourcePrefix: string,
    /** The API form of a stored object. */
    private readonly toApi: (stored: StoredObject) => JsonObject,
  ) {}

  /** Lists the keys under `prefix` (a namespace's or the whole resource's). */
  async list(prefix: string, options: ListOptions): Promise<ListResult> {
    const limit = options.limit > 0 ? options.limit : 0;
    if (options.continueToken) {
      const token = decodeContinue(options.continueToken);
      const startKey = this.resourcePrefix + token.start;
      const from = startKey < prefix ? prefix : startKey;
      if (this.cache.ready && this.cache.revision === token.rv) {
        return this.pageFromItems(this.cache.snapshot(prefix).items.filter((i) => i.key >= from), token.rv, limit, options);
      }
      return this.pageFromEtcd(prefix, from, token.rv, limit, options, true);
    }
    const rv = options.resourceVersion ?? '';
    const match = options.resourceVersionMatch ?? '';
    if (match !== '' && match !== 'NotOlderThan' && match !== 'Exact') {
      throw invalid(LIST_OPTIONS_KIND, '', [invalidIssue('resourceVersionMatch', match, 'must be one of NotOlderThan, Exact')]);
    }
    if (match !== '' && rv === '') {
      throw invalid(LIST_OPTIONS_KIND, '', [forbiddenIssue('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided')]);
    }
    if (rv === '') {
      const current = await this.storage.currentRevision();
      if (await this.cache.waitForRevision(current, CONSISTENT_READ_WAIT_MS)) {
        return this.pageFromItems(this.cache.snapshot(prefix).items, this.cache.revision, limit, options);
      }
      return this.pageFromEtcd(prefix, prefix, current, limit, options, false);
    }
    const wanted = Number(rv);
    if (!/^\d+$/.test(rv)) {
      throw invalid(LIST_OPTIONS_KIND, '', [invalidIssue('resourceVersion', rv, 'must be a non-negative integer')]);
    }
    if (match === 'Exact' && wanted > 0) {
      if (this.cache.ready && this.cache.revision === wanted) {
        return this.pageFromItems(this.cache.snapshot(prefix).items, wanted, limit, options);
      }
      if (wanted > this.cache.revision && !(await this.cache.waitForRevision(wanted, TOO_LARGE_WAIT_MS))) throw resourceVersionTooLarge();
      return this.pageFromEtcd(prefix, prefix, wanted, limit, options, false);
    }
    if (!this.cache.ready) {
      // The cache is (re)listing and may be stale: a consistent read from etcd is never older than asked.
      const current = await this.storage.currentRevision();
      if (wanted > current) throw resourceVersionTooLarge();
      return this.pageFromEtcd(prefix, prefix, current, limit, options, false);
    }
    if (!(await this.cache.waitForRevision(wanted, TOO_LARGE_WAIT_MS))) throw resourceVersionTooLarge();
    return this.pageFromItems(this.cache.snapshot(prefix).items, this.cache.revision, limit, options);
  }

  private pageFromItems(items: StoredObject[], revision: number, limit: number, options: ListOptions): ListResult {
    const out: JsonObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    for (const item of items) {
      if (!matchesObject(item.object, options.labelSelector, options.fieldSelector)) continue;
      if (limit > 0 && out.length >= limit) { more = true; break; }
      out.push(this.toApi(item));
      lastKey = item.key;
    }
    return this.result(out, revision, more, lastKey);
  }

  private async pageFromEtcd(prefix: string, from: string, revision: number, limit: number, options: ListOptions, continuing: boolean): Promise<ListResult> {
    const out: JsonObject[] = [];
    let startKey = from;
    let lastKey: string | undefined;
    let more = false;
    try {
      for (;;) {
        const page = await this.storage.list(prefix, { revision, startKey, limit: limit > 0 ? Math.max(limit, 100) : 0 });
        for (const item of page.items) {
          if (!matchesObject(item.object, options.labelSelector, options.fieldSelector)) continue;
          if (limit > 0 && out.length >= limit) { more = true; break; }
          out.push(this.toApi(item));
          lastKey = item.key;
        }
        if (more || !page.more || page.items.length === 0) break;
        startKey = page.items[page.items.length - 1].key + '\u0000';
      }
    } catch (err) {
      if (err instanceof CompactedError) {
        throw continuing ? expired(CONTINUE_TOO_OLD) : expired(`too old resource version: ${revision} (${err.compactRevision})`);
      }
      throw err;
    }
    return this.result(out, revision, more, lastKey);
  }

  private result(items: JsonObject[], revision: number, more: boolean, lastKey: string | undefined): ListResult {
    const result: ListResult = { items, revision };
    if (more && lastKey !== undefined) result.continueToken = encodeContinue({ rv: revision, start: lastKey.slice(this.resourcePrefix.length) + '\u0000' });
    return result;
  }
}
