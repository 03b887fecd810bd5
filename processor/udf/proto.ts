// Loads messaging.proto (shipped as a file at processor/udf/messaging.proto under the package root, found from
// __dirname so it works from both the sources and dist/) into a grpc-js service definition.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const SERVICE_NAME = 'org.springframework.cloud.function.grpc.MessagingService';

/** GrpcMessage as grpc-js hands it over (keepCase, bytes as Buffer). */
export interface GrpcMessage {
  payload: Buffer;
  headers: Record<string, string>;
}

function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'processor', 'udf', 'messaging.proto'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`processor/udf/messaging.proto not found above ${__dirname}`);
    dir = parent;
  }
}

export function protoPath(): string {
  return join(packageRoot(), 'processor', 'udf', 'messaging.proto');
}

export type MessagingClientConstructor = grpc.ServiceClientConstructor;

let cached: { service: grpc.ServiceDefinition; client: MessagingClientConstructor } | undefined;

/** The MessagingService definition (for servers) and client constructor, loaded once. */
export function messagingService(): { service: grpc.ServiceDefinition; client: MessagingClientConstructor } {
  if (cached) return cached;
  const definition = protoLoader.loadSync(protoPath(), { keepCase: true, defaults: true, longs: String, enums: String });
  const loaded = grpc.loadPackageDefinition(definition);
  const parts = SERVICE_NAME.split('.');
  let node: unknown = loaded;
  for (const part of parts) node = (node as Record<string, unknown>)[part];
  const client = node as MessagingClientConstructor;
  cached = { service: client.service, client };
  return cached;
}
