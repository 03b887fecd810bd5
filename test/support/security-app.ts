// A minimal fastify HTTPS app with the real security layer registered exactly as the API server registers it
// (buildSecurity -> tlsOptions merged into the HTTPS options -> register(app)). Its only route echoes what the
// layer decided (user, request info, the headers that reached the handler), so layer tests can look inside.
// Requests whose path contains `/hold/` wait until `releaseHeld()` (to fill in-flight budgets).
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildSecurity } from '../../apiserver/auth';
import type { SecurityLayer, SecurityOptions } from '../../apiserver/auth/types';
import type { SecurityFixtures } from './security-fixtures';

export interface SecuredApp {
  url: string;
  port: number;
  layer: SecurityLayer;
  /** Number of requests currently parked in a handler on a `/hold/` path. */
  held(): number;
  releaseHeld(): void;
  close(): Promise<void>;
}

export interface EchoBody {
  user?: { name: string; uid?: string; groups: string[]; extra?: Record<string, string[]> };
  requestInfo?: { verb: string; resource: string; namespace: string; name: string; subresource: string };
  headers: Record<string, unknown>;
}

export async function startSecuredApp(fixtures: SecurityFixtures, options: SecurityOptions): Promise<SecuredApp> {
  const logger = pino({ level: process.env.SR_TEST_LOG_LEVEL ?? 'silent' });
  const layer = await buildSecurity(options, { logger });
  const app: FastifyInstance = Fastify({
    https: { cert: fixtures.serving.certPem, key: fixtures.serving.keyPem, ...layer.tlsOptions },
  });
  layer.register(app);
  let waiting: Array<() => void> = [];
  app.all('/*', async (request) => {
    if (request.url.includes('/hold/')) await new Promise<void>((resolve) => waiting.push(resolve));
    const body: EchoBody = { user: request.user, requestInfo: request.requestInfo, headers: { ...request.headers } };
    return body;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    layer,
    held: () => waiting.length,
    releaseHeld: () => {
      const all = waiting;
      waiting = [];
      for (const resolve of all) resolve();
    },
    close: async () => {
      const all = waiting;
      waiting = [];
      for (const resolve of all) resolve();
      await app.close();
      await layer.close();
    },
  };
}
