// A raw @grpc/grpc-js MessagingService server for tests, written against the proto file only (not against our
// client code), with a hand-rolled GrpcPayloadCollection codec: what a UDF written for the original does.
import { resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const MESSAGING_PROTO = resolve(__dirname, '..', '..', '..', 'processor', 'udf', 'messaging.proto');

export interface RawGrpcMessage {
  payload: Buffer;
  headers: Record<string, string>;
}

export type RequestReplyHandler = (request: RawGrpcMessage) => RawGrpcMessage | Promise<RawGrpcMessage>;

function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
    shift += 7;
  }
}

function writeVarint(value: number): Buffer {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

/** GrpcPayloadCollection { repeated bytes payload = 1; } */
export function decodeCollection(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    const [tag, afterTag] = readVarint(buf, at);
    const [length, afterLength] = readVarint(buf, afterTag);
    if (tag === 0x0a) out.push(buf.subarray(afterLength, afterLength + length));
    at = afterLength + length;
  }
  return out;
}

export function encodeCollection(payloads: Buffer[]): Buffer {
  return Buffer.concat(payloads.flatMap((p) => [Buffer.from([0x0a]), writeVarint(p.length), p]));
}

export interface UdfServer {
  port: number;
  calls: RawGrpcMessage[];
  /** Kills the server (in-flight calls fail), as a crashed sidecar. */
  kill(): void;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startUdfServer(handler: RequestReplyHandler, port = 0): Promise<UdfServer> {
  const definition = protoLoader.loadSync(MESSAGING_PROTO, { keepCase: true, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    org: { springframework: { cloud: { function: { grpc: { MessagingService: grpc.ServiceClientConstructor } } } } };
  };
  const service = loaded.org.springframework.cloud.function.grpc.MessagingService.service;
  const calls: RawGrpcMessage[] = [];
  let server: grpc.Server | undefined;
  let boundPort = port;
  const launch = async (): Promise<void> => {
    const s = new grpc.Server();
    s.addService(service, {
      requestReply: (call: grpc.ServerUnaryCall<RawGrpcMessage, RawGrpcMessage>, callback: grpc.sendUnaryData<RawGrpcMessage>) => {
        calls.push(call.request);
        new Promise<RawGrpcMessage>((res) => res(handler(call.request))).then(
          (reply) => callback(null, reply),
          (err: unknown) => callback({ code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) }),
        );
      },
    });
    boundPort = await new Promise<number>((res, rej) => {
      s.bindAsync(`127.0.0.1:${boundPort}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p)));
    });
    server = s;
  };
  await launch();
  return {
    get port() { return boundPort; },
    calls,
    kill: () => { server?.forceShutdown(); server = undefined; },
    restart: launch,
    stop: async () => { server?.forceShutdown(); server = undefined; },
  };
}
