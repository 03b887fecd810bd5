// Broker addresses as ClusterStreams and flags write them, read the same way everywhere: the controllers (which
// provision), the processors (which connect), the CLI and the API server's printers (which display). Kafka takes a
// list (`kafka://a:9092,kafka://b:9092`, `a:9092,b:9092`); RabbitMQ one AMQP URL. User info in a URL is a credential:
// it is read here for the connection and removed from everything that is displayed.
import type { Protocol } from './types';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The bootstrap brokers of a Kafka address: `kafka://u:p@a:9092/x, b:9092` -> ['a:9092', 'b:9092'] (each element
 *  without scheme, user info or path; empty elements dropped). */
export function kafkaBrokers(url: string): string[] {
  return url
    .split(',')
    .map((part) => part.trim().replace(SCHEME, '').replace(/^[^@/]*@/, '').replace(/\/.*$/, ''))
    .filter((broker) => broker.length > 0);
}

/** An AMQP URL, with `amqp://` assumed when the scheme is missing (`rabbitmq:5672`). Undefined when unparsable. */
function amqpUrl(url: string): URL | undefined {
  try {
    return new URL(/^amqps?:\/\//i.test(url) ? url : `amqp://${url.replace(SCHEME, '')}`);
  } catch {
    return undefined;
  }
}

/** The credentials written into an address (RabbitMQ user info), if any. Kafka credentials come from binding Secrets. */
export function addressCredentials(protocol: Protocol, url: string): { username: string; password: string } | undefined {
  if (protocol !== 'rabbitmq') return undefined;
  const u = amqpUrl(url);
  if (!u?.username) return undefined;
  return { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
}

/** The normal form of an address without credentials, to compare two addresses: Kafka `a:9092,b:9092`; RabbitMQ
 *  `amqp://host:port[/vhost]` (default port by scheme). */
export function normalAddress(protocol: Protocol, url: string): string {
  if (protocol === 'kafka') return kafkaBrokers(url).join(',');
  const u = amqpUrl(url);
  if (!u) return redactCredentials(url);
  const port = u.port || (u.protocol === 'amqps:' ? '5671' : '5672');
  const vhost = u.pathname && u.pathname !== '/' ? u.pathname : '';
  return `${u.protocol}//${u.hostname}:${port}${vhost}`;
}

/** Any text that may hold addresses (an address list, a condition message, a client library's error, a table cell)
 *  without the user info of its URLs: `amqp://user:pass@host` -> `amqp://host`, each element of a list alike. A URL
 *  needs its scheme to be recognised in free text; addresses without one are redacted by `kafkaBrokers` /
 *  `normalAddress` when they are read as addresses. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s@/'",]*@/gi, '$1');
}
