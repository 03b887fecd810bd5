// A MessagingService server around one request/reply handler: the base of the mapper and aggregator kits, and a
// way to write a UDF that sees raw messages.

import * as grpc from '@grpc/grpc-js';
import type { Message } from '../../message';
import { messagingService, type GrpcMessage } from '../proto';

export type MessageHandler = (message: Message) => Message | Promise<Message>;

export interface ServeOptions {
  /** Default 55554 (the original's srp.grpcPort default). 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (a sidecar); use 0.0.0.0 to listen on every interface. */
  host?: string;
}

export interface RunningUdf {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Stops accepting calls and waits for running ones (bounded by a 5 s grace, then forced). */
  close(): Promise<void>;
}

/** A handler error with a gRPC status: INVALID_ARGUMENT for bad input, INTERNAL otherwise. */
export class UdfInputError extends Error {}

function unimplementedStatus(name: string): Partial<grpc.StatusObject> {
  return { code: grpc.status.UNIMPLEMENTED, details: `${name} is not implemented: use requestReply` };
}

// The original's processor calls only requestReply; the streaming methods answer UNIMPLEMENTED.
const biStream: grpc.handleBidiStreamingCall<GrpcMessage, GrpcMessage> = (call) => {
  call.emit('error', unimplementedStatus('biStream'));
};
const clientStream: grpc.handleClientStreamingCall<GrpcMessage, GrpcMessage> = (_call, callback) => {
  callback(unimplementedStatus('clientStream'), null);
};
const serverStream: grpc.handleServerStreamingCall<GrpcMessage, GrpcMessage> = (call) => {
  call.emit('error', unimplementedStatus('serverStream'));
};

export async function serveMessages(handler: MessageHandler, options: ServeOptions = {}): Promise<RunningUdf> {
  const server = new grpc.Server();
  const requestReply: grpc.handleUnaryCall<GrpcMessage, GrpcMessage> = (call, callback) => {
    let result: Message | Promise<Message>;
    try {
      result = handler({ payload: Buffer.from(call.request.payload ?? Buffer.alloc(0)), headers: { ...(call.request.headers ?? {}) } });
    } catch (error: unknown) {
      callback(toStatus(error), null);
      return;
    }
    Promise.resolve(result).then(
      (reply) => callback(null, { payload: reply.payload, headers: reply.headers }),
      (error: unknown) => callback(toStatus(error), null),
    );
  };
  server.addService(messagingService().service, { requestReply, biStream, clientStream, serverStream });
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port ?? 55554}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 5000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

function toStatus(error: unknown): Partial<grpc.StatusObject> {
  const details = error instanceof Error ? error.message : String(error);
  return { code: error instanceof UdfInputError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL, details };
}
