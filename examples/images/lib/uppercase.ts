// The three udf-uppercase images (java, go, python) of the original's udf-samples: each uppercases the payload
// (the payload as UTF-8 text, `toUpperCase`), over requestReply. They differ as their sources do:
//   java   (Spring Cloud Function gRPC, Function<String,String> uppercase): port 55554; the reply keeps the
//          request's headers (Spring messages carry their headers through the function);
//   go     (udf-uppercase-go.go): port 55554; the reply has the uppercased payload and NO headers;
//   python (message_service_server.py): port 50051; the reply keeps the request's headers.
import { serve } from './udf';

export type Variant = 'java' | 'go' | 'python';

const ORIGINAL_PORT: Record<Variant, number> = { java: 55554, go: 55554, python: 50051 };

export function uppercaseReply(variant: Variant, payload: Buffer, headers: Record<string, string>): { payload: Buffer; headers: Record<string, string> } {
  const upper = Buffer.from(payload.toString('utf8').toUpperCase(), 'utf8');
  return { payload: upper, headers: variant === 'go' ? {} : { ...headers } };
}

export function serveUppercase(variant: Variant): Promise<void> {
  return serve(`udf-uppercase-${variant}`, ORIGINAL_PORT[variant], (message) => {
    // The originals log every request (Go: "Received: ...", Python: "Server received Payload: ...").
    console.log(`Received: ${message.payload.toString('utf8')}`);
    return uppercaseReply(variant, message.payload, message.headers);
  });
}
