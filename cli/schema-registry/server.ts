// The Confluent Schema Registry REST API over a RegistryStore (fastify). The routes are those clients call
// (@kafkajs/confluent-schema-registry, Confluent's serializers, Flink's avro-confluent format, kcat): subjects and
// versions, schemas by id, lookup, compatibility check and config, deletes. Bodies and errors are Confluent's
// (`{error_code, message}`, content type application/vnd.schemaregistry.v1+json). No authentication: it listens on
// loopback for development.
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { AddressInfo } from 'node:net';
import { RegistryError, RegistryStore, type Registration } from './store';
import { SCHEMA_TYPES, type SchemaReference } from './avro';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export interface RegistryServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 = a free port. */
  port?: number;
  /** Called for every request before it is answered (tests record what the clients asked). */
  onRequest?: (method: string, path: string, authorization: string | undefined) => void;
  /** Sent as header `x-sr-instance` on every answer, so that `sr up` knows the registry answering is the one it
   *  started (and not another that took the port first). */
  instance?: string;
}

export interface RunningRegistry {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

type Params = Record<string, string>;
type Query = Record<string, string | undefined>;

/** Serves `store` until close(). */
export async function serveRegistry(store: RegistryStore, options: RegistryServerOptions = {}): Promise<RunningRegistry> {
  const app = buildApp(store, options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: async () => {
      // A registry going away drops its clients at once (keep-alive connections included), like a stopped process.
      app.server.closeAllConnections();
      await app.close();
    },
  };
}

export function buildApp(store: RegistryStore, options: RegistryServerOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false });
  // Clients send application/vnd.schemaregistry.v1+json, application/json or octet-stream: all are JSON here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text) as unknown);
    } catch {
      done(new RegistryError(50005, 'Unrecognized request body: not JSON'), undefined);
    }
  });
  app.addHook('onRequest', async (req, reply) => {
    options.onRequest?.(req.method, req.url.split('?')[0], req.headers.authorization);
    if (options.instance) void reply.header('x-sr-instance', options.instance);
  });
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof RegistryError) return send(reply, err.status, { error_code: err.errorCode, message: err.message });
    const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
    return send(reply, status, { error_code: status === 500 ? 50001 : status, message: err instanceof Error ? err.message : String(err) });
  });
  app.setNotFoundHandler((req, reply) => send(reply, 404, { error_code: 404, message: `HTTP 404 Not Found: ${req.method} ${req.url}` }));

  const deleted = (q: Query): boolean => q.deleted === 'true';
  const permanent = (q: Query): boolean => q.permanent === 'true';

  app.get('/', async (_req, reply) => send(reply, 200, {}));
  app.get('/schemas/types', async (_req, reply) => send(reply, 200, SCHEMA_TYPES));
  app.get<{ Params: Params }>('/schemas/ids/:id', async (req, reply) => {
    const s = store.schema(schemaId(req.params.id));
    return send(reply, 200, { schema: s.schema, ...(s.schemaType !== 'AVRO' ? { schemaType: s.schemaType } : {}), ...(s.references ? { references: s.references } : {}) });
  });
  app.get<{ Params: Params }>('/schemas/ids/:id/schema', async (req, reply) => sendRaw(reply, store.schema(schemaId(req.params.id)).schema));
  app.get<{ Params: Params }>('/schemas/ids/:id/versions', async (req, reply) => send(reply, 200, store.usages(schemaId(req.params.id))));

  app.get<{ Querystring: Query }>('/subjects', async (req, reply) => send(reply, 200, store.subjects(deleted(req.query))));
  app.get<{ Params: Params; Querystring: Query }>('/subjects/:subject/versions', async (req, reply) =>
    send(reply, 200, store.versions(req.params.subject, deleted(req.query))));
  app.get<{ Params: Params; Querystring: Query }>('/subjects/:subject/versions/:version', async (req, reply) =>
    send(reply, 200, withoutAvroType(store.version(req.params.subject, req.params.version, deleted(req.query)))));
  app.get<{ Params: Params; Querystring: Query }>('/subjects/:subject/versions/:version/schema', async (req, reply) =>
    sendRaw(reply, store.version(req.params.subject, req.params.version, deleted(req.query)).schema));
  app.post<{ Params: Params; Body: unknown }>('/subjects/:subject/versions', async (req, reply) =>
    send(reply, 200, { id: store.register(req.params.subject, registration(req.body)).id }));
  app.post<{ Params: Params; Body: unknown; Querystring: Query }>('/subjects/:subject', async (req, reply) =>
    send(reply, 200, withoutAvroType(store.lookup(req.params.subject, registration(req.body), deleted(req.query)))));
  app.delete<{ Params: Params; Querystring: Query }>('/subjects/:subject', async (req, reply) =>
    send(reply, 200, store.deleteSubject(req.params.subject, permanent(req.query))));
  app.delete<{ Params: Params; Querystring: Query }>('/subjects/:subject/versions/:version', async (req, reply) =>
    send(reply, 200, store.deleteVersion(req.params.subject, req.params.version, permanent(req.query))));

  app.post<{ Params: Params; Body: unknown; Querystring: Query }>('/compatibility/subjects/:subject/versions/:version', async (req, reply) => {
    const problem = store.compatibility(req.params.subject, registration(req.body), req.params.version);
    return send(reply, 200, { is_compatible: problem === undefined, ...(problem && req.query.verbose === 'true' ? { messages: [problem] } : {}) });
  });
  app.post<{ Params: Params; Body: unknown }>('/compatibility/subjects/:subject/versions', async (req, reply) => {
    const problem = store.compatibility(req.params.subject, registration(req.body), 'latest');
    return send(reply, 200, { is_compatible: problem === undefined });
  });

  app.get('/config', async (_req, reply) => send(reply, 200, { compatibilityLevel: store.globalCompatibility() }));
  app.put<{ Body: unknown }>('/config', async (req, reply) =>
    send(reply, 200, { compatibility: store.setCompatibility(undefined, field(req.body, 'compatibility')) }));
  app.get<{ Params: Params; Querystring: Query }>('/config/:subject', async (req, reply) => {
    const level = store.subjectCompatibility(req.params.subject);
    if (level) return send(reply, 200, { compatibilityLevel: level });
    if (req.query.defaultToGlobal === 'true') return send(reply, 200, { compatibilityLevel: store.globalCompatibility() });
    throw new RegistryError(40408, `Subject '${req.params.subject}' does not have subject-level compatibility configured`);
  });
  app.put<{ Params: Params; Body: unknown }>('/config/:subject', async (req, reply) =>
    send(reply, 200, { compatibility: store.setCompatibility(req.params.subject, field(req.body, 'compatibility')) }));
  app.delete<{ Params: Params }>('/config/:subject', async (req, reply) =>
    send(reply, 200, { compatibilityLevel: store.deleteCompatibility(req.params.subject) }));
  // Modes exist so that tools probing them (e.g. before a migration) get Confluent's default answer.
  app.get('/mode', async (_req, reply) => send(reply, 200, { mode: 'READWRITE' }));
  return app;
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  // A Buffer, so that fastify adds no "; charset=utf-8" (Confluent's content type has none).
  return reply.code(status).header('content-type', CONTENT_TYPE).send(Buffer.from(JSON.stringify(body)));
}

function sendRaw(reply: FastifyReply, schema: string): FastifyReply {
  return reply.code(200).header('content-type', CONTENT_TYPE).send(Buffer.from(schema));
}

function schemaId(text: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id < 0) throw new RegistryError(40403, `Schema ${text} not found`);
  return id;
}

/** Confluent leaves schemaType out for Avro (the default). */
function withoutAvroType<T extends { schemaType: string }>(v: T): Omit<T, 'schemaType'> & { schemaType?: string } {
  const { schemaType, ...rest } = v;
  return schemaType === 'AVRO' ? rest : { ...rest, schemaType };
}

function registration(body: unknown): Registration {
  const schema = field(body, 'schema');
  if (typeof schema !== 'string') throw new RegistryError(42201, 'Invalid schema: the body must be {"schema": "<schema text>"}');
  const schemaType = field(body, 'schemaType');
  const references = field(body, 'references');
  return {
    schema,
    ...(typeof schemaType === 'string' ? { schemaType } : {}),
    ...(Array.isArray(references) ? { references: references as SchemaReference[] } : {}),
  };
}

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}
