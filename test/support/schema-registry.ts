// A FAKE Confluent Schema Registry for tests. The real one is a Java service that is neither in Debian's archive nor
// on npm, so it cannot run on the development machines; this small HTTP server implements the part of its REST API
// (https://docs.confluent.io/platform/current/schema-registry/develop/api.html) that
// @kafkajs/confluent-schema-registry and the processor use, with the registry's status codes, error codes and
// content type:
//   GET  /                                      {}
//   GET  /schemas/ids/:id                       { schema[, schemaType, references] }   404 error_code 40403
//   GET  /subjects                              [subject...]
//   GET  /subjects/:subject/versions            [1, 2, ...]                              404 error_code 40401
//   GET  /subjects/:subject/versions/:v|latest  { subject, version, id, schema }         404 40401 / 40402
//   POST /subjects/:subject/versions            { id }  (an identical schema keeps its id, as the real registry)
//   POST /subjects/:subject                     { subject, version, id, schema }         404 40401 / 40403
//   GET  /config, GET|PUT /config/:subject      { compatibilityLevel } / { compatibility } 404 error_code 40408
// No compatibility checking, no authentication and no persistence. `stop()` / `start()` take it down and up on the
// same port (a registry outage: connections refused); `requests` and `authorizations` record what was asked.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface StoredSchema {
  id: number;
  schema: string;
  schemaType?: string;
  references?: unknown[];
}

interface SubjectVersion {
  version: number;
  id: number;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export class FakeSchemaRegistry {
  /** "METHOD /path" of every request, in order. */
  readonly requests: string[] = [];
  /** The Authorization header of every request that had one. */
  readonly authorizations: string[] = [];
  private readonly schemas = new Map<number, StoredSchema>();
  private readonly subjects = new Map<string, SubjectVersion[]>();
  private readonly configs = new Map<string, string>();
  private globalCompatibility = 'BACKWARD';
  private nextId = 1;
  private server: Server | undefined;
  private boundPort = 0;

  /** Starts a registry on a free loopback port. */
  static async start(): Promise<FakeSchemaRegistry> {
    const registry = new FakeSchemaRegistry();
    await registry.start();
    return registry;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** (Re)starts listening, on the same port after a `stop()`. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => reply(res, 500, { error_code: 50001, message: String(err) }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, '127.0.0.1', () => resolve());
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening (connections are refused) but keeps every schema, like a registry being restarted. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Ids of the stored schemas. */
  schemaIds(): number[] {
    return [...this.schemas.keys()];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://registry');
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname}`);
    if (req.headers.authorization) this.authorizations.push(req.headers.authorization);
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const body = method === 'POST' || method === 'PUT' ? await readJson(req) : undefined;

    if (parts.length === 0 && method === 'GET') return reply(res, 200, {});
    if (parts[0] === 'schemas' && parts[1] === 'ids' && parts.length === 3 && method === 'GET') {
      const stored = this.schemas.get(Number(parts[2]));
      if (!stored) return reply(res, 404, { error_code: 40403, message: 'Schema not found' });
      return reply(res, 200, {
        schema: stored.schema,
        ...(stored.schemaType ? { schemaType: stored.schemaType } : {}),
        ...(stored.references ? { references: stored.references } : {}),
      });
    }
    if (parts[0] === 'config') {
      if (parts.length === 1 && method === 'GET') return reply(res, 200, { compatibilityLevel: this.globalCompatibility });
      if (parts.length === 1 && method === 'PUT') {
        this.globalCompatibility = String(field(body, 'compatibility') ?? this.globalCompatibility);
        return reply(res, 200, { compatibility: this.globalCompatibility });
      }
      const subject = parts[1];
      if (method === 'GET') {
        const level = this.configs.get(subject);
        if (!level) return reply(res, 404, { error_code: 40408, message: `Subject '${subject}' does not have subject-level compatibility configured` });
        return reply(res, 200, { compatibilityLevel: level });
      }
      if (method === 'PUT') {
        const level = String(field(body, 'compatibility') ?? '');
        this.configs.set(subject, level);
        return reply(res, 200, { compatibility: level });
      }
    }
    if (parts[0] === 'subjects') {
      if (parts.length === 1 && method === 'GET') return reply(res, 200, [...this.subjects.keys()]);
      const subject = parts[1];
      const versions = this.subjects.get(subject);
      if (parts.length === 3 && parts[2] === 'versions' && method === 'POST') return reply(res, 200, { id: this.register(subject, body) });
      if (parts.length === 2 && method === 'POST') {
        if (!versions) return reply(res, 404, { error_code: 40401, message: `Subject '${subject}' not found.` });
        const id = this.findId(body);
        const found = versions.find((v) => v.id === id);
        if (!found) return reply(res, 404, { error_code: 40403, message: 'Schema not found' });
        return reply(res, 200, { subject, version: found.version, id: found.id, schema: this.schemas.get(found.id)?.schema });
      }
      if (parts[2] === 'versions' && method === 'GET') {
        if (!versions) return reply(res, 404, { error_code: 40401, message: `Subject '${subject}' not found.` });
        if (parts.length === 3) return reply(res, 200, versions.map((v) => v.version));
        const wanted = parts[3] === 'latest' ? versions[versions.length - 1] : versions.find((v) => v.version === Number(parts[3]));
        if (!wanted) return reply(res, 404, { error_code: 40402, message: `Version ${parts[3]} not found.` });
        const stored = this.schemas.get(wanted.id);
        return reply(res, 200, { subject, version: wanted.version, id: wanted.id, schema: stored?.schema, ...(stored?.schemaType ? { schemaType: stored.schemaType } : {}) });
      }
    }
    reply(res, 404, { error_code: 404, message: `HTTP 404 Not Found: ${method} ${url.pathname}` });
  }

  /** Registers a schema under a subject; an identical schema (same canonical text and type) keeps its id. */
  private register(subject: string, body: unknown): number {
    let id = this.findId(body);
    if (id === undefined) {
      id = this.nextId++;
      const schemaType = field(body, 'schemaType');
      const references = field(body, 'references');
      this.schemas.set(id, {
        id,
        schema: String(field(body, 'schema')),
        ...(typeof schemaType === 'string' ? { schemaType } : {}),
        ...(Array.isArray(references) && references.length > 0 ? { references } : {}),
      });
    }
    const versions = this.subjects.get(subject) ?? [];
    if (!versions.some((v) => v.id === id)) versions.push({ version: versions.length + 1, id });
    this.subjects.set(subject, versions);
    return id;
  }

  private findId(body: unknown): number | undefined {
    const wanted = canonical(String(field(body, 'schema')));
    const type = field(body, 'schemaType') ?? 'AVRO';
    for (const stored of this.schemas.values()) {
      if (canonical(stored.schema) === wanted && (stored.schemaType ?? 'AVRO') === type) return stored.id;
    }
    return undefined;
  }
}

function canonical(schema: string): string {
  try {
    return JSON.stringify(JSON.parse(schema));
  } catch {
    return schema;
  }
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': CONTENT_TYPE }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : undefined;
}
