// One Confluent-compatible schema registry, as the payload codec sees it: writer schemas by id, fetched and parsed by
// @kafkajs/confluent-schema-registry (REST `GET /schemas/ids/:id`, schema references, avsc parsing), kept here once
// resolved so that decoding a message of a known schema stays synchronous. Fetches are shared per id, time out, and
// are retried with backoff when the registry cannot be reached; the reachability is a status the runtime reports on
// /readyz and /debug/state.
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

type ClientArgs = ConstructorParameters<typeof SchemaRegistry>[0];
type Middleware = NonNullable<ClientArgs['middlewares']>[number];
type LibrarySchema = Awaited<ReturnType<SchemaRegistry['getSchema']>>;

export interface RegistryClientOptions {
  /** http(s)://[user:password@]host:port[/prefix]; credentials become HTTP basic auth and are never shown. */
  url: string;
  /** Deadline of one HTTP request; default 5000. */
  requestTimeoutMs?: number;
  /** Attempts of a fetch before the message is given up (dead-lettered); default 3. */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt up to maxBackoffMs; defaults 200 / 2000. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Called when the registry becomes reachable or unreachable (the runtime logs it). */
  onStateChange?: (status: RegistryStatus) => void;
}

export type RegistryReachability = 'unknown' | 'reachable' | 'unreachable';

export interface RegistryStatus {
  /** The URL without credentials. */
  url: string;
  state: RegistryReachability;
  lastError?: string;
  lastErrorAt?: number;
  /** Epoch ms of the last HTTP answer. */
  lastContactAt?: number;
  schemasCached: number;
  fetches: number;
  failedFetches: number;
}

/** A writer schema resolved from the registry: decodes the Avro body of a wire frame (throws when corrupt). */
export interface WriterSchema {
  id: number;
  decode(body: Buffer): unknown;
}

/** A schema could not be had. `permanent`: retrying will not help (unknown id, not an Avro schema). */
export class SchemaFetchError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'SchemaFetchError';
  }
}

interface RegistryAddress {
  /** Base URL without credentials and without a trailing slash. */
  host: string;
  auth?: { username: string; password: string };
}

/** Parses and checks a registry URL; throws (without echoing a password) when it is not an http(s) URL. */
export function parseRegistryUrl(text: string): RegistryAddress {
  const shown = text.trim().replace(/\/\/[^/@]*@/, '//***@');
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error(`schema registry URL '${shown}' is not a valid URL (expected http://host:port)`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
    throw new Error(`schema registry URL '${shown}' must be an http:// or https:// URL`);
  }
  const auth = url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : undefined;
  url.username = '';
  url.password = '';
  return { host: url.toString().replace(/\/+$/, ''), ...(auth ? { auth } : {}) };
}

/** HTTP status of the library's ResponseError; mappersmith reports connection failures and timeouts as 400. */
function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('status' in err)) return undefined;
  return typeof err.status === 'number' ? err.status : undefined;
}

/** Worth retrying: the registry could not be reached (400 from mappersmith), timed out, throttled or failed (5xx). */
function isTransient(status: number | undefined): boolean {
  return status !== undefined && (status === 400 || status === 408 || status === 429 || status >= 500);
}

/** The library prefixes its messages with the client id ("sr-processor - ..."). */
function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/^sr-processor - /, '');
}

const CLIENT_ID = 'sr-processor';

export class SchemaRegistryClient {
  readonly url: string;
  private readonly address: RegistryAddress;
  private readonly requestTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly schemas = new Map<number, WriterSchema>();
  private readonly pending = new Map<number, Promise<WriterSchema>>();
  private registry: Promise<SchemaRegistry> | undefined;
  private readonly current: RegistryStatus;

  constructor(private readonly options: RegistryClientOptions) {
    this.address = parseRegistryUrl(options.url);
    this.url = this.address.host;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 2000;
    this.current = { url: this.url, state: 'unknown', schemasCached: 0, fetches: 0, failedFetches: 0 };
  }

  /** The schema when it was resolved before (the synchronous path). */
  cached(id: number): WriterSchema | undefined {
    return this.schemas.get(id);
  }

  /** Resolves a writer schema, sharing one fetch per id. Rejects with SchemaFetchError. */
  schema(id: number): Promise<WriterSchema> {
    const cached = this.schemas.get(id);
    if (cached) return Promise.resolve(cached);
    let pending = this.pending.get(id);
    if (!pending) {
      pending = this.fetch(id).finally(() => this.pending.delete(id));
      this.pending.set(id, pending);
    }
    return pending;
  }

  status(): RegistryStatus {
    return { ...this.current, schemasCached: this.schemas.size };
  }

  /** Asks the registry something cheap (`GET /config`) to learn whether it answers; updates the status. */
  async probe(timeoutMs: number): Promise<RegistryStatus> {
    const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json' };
    const auth = this.address.auth;
    if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    try {
      const response = await fetch(`${this.url}/config`, { headers, signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      if (response.status >= 500) this.unreachable(`GET /config answered HTTP ${response.status}`);
      else this.reachable();
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : errorText(err);
      this.unreachable(cause);
    }
    return this.status();
  }

  private client(): Promise<SchemaRegistry> {
    // Loaded on first use: the library (with avsc, ajv and protobufjs) costs a quarter of a second to load, which
    // processors without a registry should not pay.
    this.registry ??= import('@kafkajs/confluent-schema-registry').then(({ SchemaRegistry: Registry }) => {
      const requestTimeoutMs = this.requestTimeoutMs;
      // mappersmith has no default deadline: a registry that accepts and never answers must not hold messages.
      const withTimeout: Middleware = () => ({
        async prepareRequest(next) {
          const request = await next();
          return request.enhance({ timeout: requestTimeoutMs });
        },
      });
      return new Registry({
        host: this.url,
        clientId: CLIENT_ID,
        // Retries are ours (below): the library's retry middleware does not retry refused connections.
        retry: { retries: 0 },
        middlewares: [withTimeout],
        ...(this.address.auth ? { auth: this.address.auth } : {}),
      });
    });
    return this.registry;
  }

  private async fetch(id: number): Promise<WriterSchema> {
    const registry = await this.client();
    let delay = this.initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      this.current.fetches++;
      let schema: LibrarySchema;
      try {
        schema = await registry.getSchema(id);
      } catch (err) {
        this.current.failedFetches++;
        const status = statusOf(err);
        const transient = isTransient(status);
        if (transient) this.unreachable(errorText(err));
        else if (status !== undefined) this.reachable();
        if (!transient) {
          const why = status === 404 ? 'is not in the registry (404)' : `could not be read: ${errorText(err)}`;
          throw new SchemaFetchError(`schema id ${id} ${why}`, true);
        }
        if (attempt >= this.maxAttempts) {
          throw new SchemaFetchError(`schema registry ${this.url} unreachable after ${attempt} attempts: ${errorText(err)}`, false);
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, this.maxBackoffMs);
        continue;
      }
      this.reachable();
      const writer = asWriterSchema(id, schema);
      this.schemas.set(id, writer);
      return writer;
    }
  }

  private reachable(): void {
    const changed = this.current.state !== 'reachable';
    this.current.state = 'reachable';
    this.current.lastContactAt = Date.now();
    if (changed) this.options.onStateChange?.(this.status());
  }

  private unreachable(error: string): void {
    const changed = this.current.state !== 'unreachable';
    this.current.state = 'unreachable';
    this.current.lastError = error;
    this.current.lastErrorAt = Date.now();
    if (changed) this.options.onStateChange?.(this.status());
  }
}

/** Only Avro is decoded: the library also parses JSON Schema and Protobuf schemas, which are not avsc types. */
function asWriterSchema(id: number, schema: LibrarySchema): WriterSchema {
  const typeName = (schema as { typeName?: unknown }).typeName;
  if (typeof typeName !== 'string') {
    throw new SchemaFetchError(`schema id ${id} is not an Avro schema (JSON Schema and Protobuf payloads are not decoded)`, true);
  }
  return { id, decode: (body: Buffer): unknown => schema.fromBuffer(body) as unknown };
}
