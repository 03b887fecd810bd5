// The catalogue of Processor `spec.attributes` keys: every `srp.*` attribute the SRP processor understands (from the
// original Streaming Runtime and ours), plus the well-known free-form ones. One table feeds validation
// (crds/validation), the editor (completion and hover) and the docs. Pure data: no imports beyond types.

import type { ProcessorType } from './types';

/** How an attribute's value is written; validation picks the checker by this. */
export type AttributeSyntax =
  | 'duration' // Spring style: 500ms, 5s, 2m, 1h, 1d, or a bare integer (milliseconds)
  | 'enum' // one of allowedValues
  | 'positiveInteger' // 1, 2, ...
  | 'port' // 1..65535
  | 'boolean' // true | false
  | 'spel' // a SpEL expression
  | 'jsonata' // a JSONata expression
  | 'outputHeaders' // name=expr;name2=expr2
  | 'envs' // K=V;K2=V2
  | 'streamName' // metadata.name of a Stream in the processor's namespace
  | 'url' // an absolute http:// or https:// URL
  | 'timestampExpression'; // proc | header.<name> | payload.<path> | <path>

export interface AttributeSpec {
  name: string;
  /** One or two sentences for hover and docs. */
  description: string;
  syntax: AttributeSyntax;
  /** Human-readable description of the value, e.g. "duration (5s, 2m, 500ms)". */
  valueHint: string;
  /** The effective value when the attribute is absent, as text (may describe a derived value). */
  default?: string;
  allowedValues?: readonly string[];
  /** A value to show in completion snippets and docs. */
  example: string;
  /** Processor types that read the attribute. */
  appliesTo: readonly ProcessorType[];
  /** Where the attribute comes from: the original Streaming Runtime, or added by this project. */
  origin: 'original' | 'streaming-runtime';
}

export const SRP_ATTRIBUTE_PREFIX = 'srp.';

const SRP: readonly ProcessorType[] = ['SRP'];
const DURATION = 'duration (500ms, 5s, 2m, 1h, 1d; a bare number is milliseconds)';

export const SRP_ATTRIBUTES: readonly AttributeSpec[] = [
  {
    name: 'srp.window',
    description:
      'Size of the event-time window. Setting it turns on windowed aggregation: messages are grouped per window and ' +
      'released (to the UDF, as one batch) when the watermark passes the window end. Unset = stateless processing.',
    syntax: 'duration', valueHint: DURATION, example: '5s', appliesTo: SRP, origin: 'original',
  },
  {
    name: 'srp.window.type',
    description:
      'Kind of window: TUMBLING (fixed, non-overlapping windows of srp.window), SLIDING (windows of srp.window ' +
      'starting every srp.window.slide) or SESSION (a window closes after srp.window.gap without events).',
    syntax: 'enum', valueHint: 'TUMBLING | SLIDING | SESSION', default: 'TUMBLING',
    allowedValues: ['TUMBLING', 'SLIDING', 'SESSION'], example: 'TUMBLING', appliesTo: SRP, origin: 'streaming-runtime',
  },
  {
    name: 'srp.window.slide',
    description: 'For SLIDING windows: how often a new window starts. Must not exceed srp.window.',
    syntax: 'duration', valueHint: DURATION, example: '1s', appliesTo: SRP, origin: 'streaming-runtime',
  },
  {
    name: 'srp.window.gap',
    description: 'For SESSION windows: the inactivity gap that closes a session.',
    syntax: 'duration', valueHint: DURATION, example: '30s', appliesTo: SRP, origin: 'streaming-runtime',
  },
  {
    name: 'srp.window.idle.timeout',
    description:
      'Releases the oldest open window (marked partial) when no message arrived for this long, so windows do not ' +
      'wait forever on a quiet stream.',
    syntax: 'duration', valueHint: DURATION, example: '60s', appliesTo: SRP, origin: 'original',
  },
  {
    name: 'srp.window.maxState',
    description:
      'Maximum number of events buffered over all open windows. When reached, the inputs pause (logged, counted) ' +
      'until released windows make room; nothing is dropped or acknowledged early.',
    syntax: 'positiveInteger', valueHint: 'positive integer', default: '100000', example: '100000', appliesTo: SRP,
    origin: 'streaming-runtime',
  },
  {
    name: 'srp.window.state',
    description:
      'Where open windows keep their events: MEMORY (the heap, fastest) or ROCKSDB (a RocksDB directory per ' +
      'replica, so srp.window.maxState can exceed memory). The original chose it with srp.envs ' +
      '"SRP_PROCESSOR_STATETYPE=ROCKSDB", which is also read. FSQL: ROCKSDB keeps join and GROUP BY state on ' +
      'disk, so it survives a restart.',
    syntax: 'enum', valueHint: 'MEMORY | ROCKSDB', default: 'MEMORY', allowedValues: ['MEMORY', 'ROCKSDB'],
    example: 'ROCKSDB', appliesTo: ['SRP', 'FSQL'], origin: 'streaming-runtime',
  },
  {
    name: 'srp.lateEventMode',
    description:
      'What to do with late events (event time behind the watermark): DROP discards them (counted), UPSERT ' +
      'processes them as usual, SIDE_CHANNEL sends them to the late stream (srp.output.late). When absent, a ' +
      'windowed processor drops them and a processor without srp.window passes them through (counted).',
    syntax: 'enum', valueHint: 'DROP | UPSERT | SIDE_CHANNEL', default: 'DROP with srp.window; without a window, late events pass through',
    allowedValues: ['DROP', 'UPSERT', 'SIDE_CHANNEL'], example: 'SIDE_CHANNEL', appliesTo: SRP, origin: 'original',
  },
  {
    name: 'srp.maxOutOfOrderness',
    description:
      'How far behind the newest event time an event may arrive and still be in order: the watermark is the ' +
      'highest event time minus this. Overrides the input Stream\'s timeAttributes watermark.',
    syntax: 'duration', valueHint: DURATION, default: '0 (or the input Stream\'s watermark delay)', example: '2s',
    appliesTo: SRP, origin: 'original',
  },
  {
    name: 'srp.allowedLateness',
    description:
      'How long after the watermark passed a window\'s end late events are still added to it (the window is ' +
      're-emitted). Later events follow srp.lateEventMode.',
    syntax: 'duration', valueHint: DURATION, default: '0', example: '1m', appliesTo: SRP, origin: 'original',
  },
  {
    name: 'srp.watermark.idleTimeout',
    description:
      'A partition that is silent this long stops holding back the processor\'s watermark (the minimum over ' +
      'partitions), so one idle partition does not stall windows. FSQL: the same for every input partition of the ' +
      'statements (Flink\'s table.exec.source.idle-timeout, which Flink leaves off).',
    syntax: 'duration', valueHint: DURATION, default: '30s', example: '30s', appliesTo: ['SRP', 'FSQL'], origin: 'streaming-runtime',
  },
  {
    name: 'srp.sql.state.ttl',
    description:
      'FSQL: how long a regular join keeps a row it has not matched again (Flink\'s table.exec.state.ttl). 0 keeps ' +
      'rows forever, so state grows with the inputs; with a TTL, later matches of an expired row are lost (counted in ' +
      'sr_processor_sql_state_expired_total and logged).',
    syntax: 'duration', valueHint: DURATION, default: '0 (keep forever)', example: '1h', appliesTo: ['FSQL'], origin: 'streaming-runtime',
  },
  {
    name: 'srp.input.timestampExpression',
    description:
      'Where event time comes from: "proc" (wall clock), "header.<name>" (a message header), "payload.<path>" or ' +
      '"<path>" (a field of the JSON payload, or of an Avro payload decoded through srp.input.schemaRegistryUri, in ' +
      'milliseconds since the epoch). Overrides the input Stream\'s ' +
      'timeAttributes.',
    syntax: 'timestampExpression', valueHint: 'proc | header.<name> | payload.<field path>',
    default: 'the input Stream\'s first timeAttributes name, else the eventtime header, else the wall clock',
    example: 'payload.score_time', appliesTo: SRP, origin: 'original',
  },
  {
    name: 'srp.input.schemaRegistryUri',
    description:
      'Confluent-compatible schema registry (an http:// or https:// URL) that decodes Avro input payloads: messages ' +
      'in the Confluent wire format, or whose contentType says avro, are decoded to JSON for timestamps, ' +
      'expressions, headers and UDFs. Overrides every input Stream\'s dataSchemaContext.schemaRegistryUri.',
    syntax: 'url', valueHint: 'http(s) URL', example: 'http://s-registry.streaming-runtime.svc.cluster.local:8081', appliesTo: SRP,
    origin: 'original',
  },
  {
    name: 'srp.spel.expression',
    description:
      'Inline transformation: a SpEL expression evaluated for every message; its result is the new payload. ' +
      'Use #jsonPath(payload, \'$.field\') to read JSON fields.',
    syntax: 'spel', valueHint: 'SpEL expression',
    example: '\'{"\' + #jsonPath(payload, \'$.fullName\') + \'":"\' + #jsonPath(payload, \'$.email\') + \'"}\'',
    appliesTo: SRP, origin: 'original',
  },
  {
    name: 'srp.jsonata.expression',
    description: 'Inline transformation: a JSONata expression over the JSON payload; its result is the new payload.',
    syntax: 'jsonata', valueHint: 'JSONata expression', example: '{ "user": fullName, "points": score * 10 }',
    appliesTo: SRP, origin: 'streaming-runtime',
  },
  {
    name: 'srp.filter.expression',
    description:
      'A JSONata predicate over the JSON payload: messages for which it is false (or empty) are filtered out — ' +
      'counted and acknowledged, not produced.',
    syntax: 'jsonata', valueHint: 'JSONata predicate', example: 'score > 50', appliesTo: SRP, origin: 'streaming-runtime',
  },
  {
    name: 'srp.output.headers',
    description:
      'Headers added to every output message, "name=expr" separated by ";". expr is header.<name> (copies an ' +
      'input header) or a path into the output JSON payload (payload.<field>). Use it to set partition keys.',
    syntax: 'outputHeaders', valueHint: 'name=header.<h>|payload.<path>;...', example: 'user=payload.fullName',
    appliesTo: SRP, origin: 'original',
  },
  {
    name: 'srp.output.late',
    description:
      'Stream receiving late events when srp.lateEventMode is SIDE_CHANNEL (a Stream name in the processor\'s ' +
      'namespace).',
    syntax: 'streamName', valueHint: 'Stream name', default: '<first output destination>.late on the first output\'s server',
    example: 'user-scores-late', appliesTo: SRP, origin: 'streaming-runtime',
  },
  {
    name: 'srp.output.deadLetter',
    description:
      'Stream receiving messages that failed processing (with x-exception-* headers), a Stream name in the ' +
      'processor\'s namespace.',
    syntax: 'streamName', valueHint: 'Stream name',
    default: '<first input destination>.<processor name>.dlq on the first input\'s server', example: 'user-scores-dlq',
    appliesTo: SRP, origin: 'streaming-runtime',
  },
  {
    name: 'srp.skipUdf',
    description: 'Skip calling the user-defined function (the processor only transforms, windows and routes).',
    syntax: 'boolean', valueHint: 'true | false', default: 'true when the processor has no containers, else false',
    allowedValues: ['true', 'false'], example: 'true', appliesTo: SRP, origin: 'original',
  },
  {
    name: 'srp.grpcPort',
    description: 'Port of the user-defined function\'s gRPC server (MessagingService) on localhost.',
    syntax: 'port', valueHint: 'port number 1-65535', default: '55554', example: '50051', appliesTo: SRP,
    origin: 'original',
  },
  {
    name: 'srp.udf.timeout',
    description: 'Deadline of one call to the user-defined function; a call that exceeds it is retried.',
    syntax: 'duration', valueHint: DURATION, default: '5s', example: '5s', appliesTo: SRP, origin: 'streaming-runtime',
  },
  {
    name: 'srp.udf.maxAttempts',
    description: 'Calls to the user-defined function per message before the message goes to the dead-letter stream.',
    syntax: 'positiveInteger', valueHint: 'positive integer', default: '3', example: '3', appliesTo: SRP,
    origin: 'streaming-runtime',
  },
  {
    name: 'srp.envs',
    description: 'Extra environment variables of the processor, "K=V" separated by ";".',
    syntax: 'envs', valueHint: 'K=V;K2=V2', example: 'LOG_LEVEL=debug;STATE_TYPE=MEMORY', appliesTo: ['SRP', 'FSQL'],
    origin: 'original',
  },
];

/** Well-known attributes outside the srp.* namespace (free-form: never validated, offered by the editor). */
export const OTHER_KNOWN_ATTRIBUTES: readonly Pick<AttributeSpec, 'name' | 'description' | 'valueHint' | 'example' | 'appliesTo'>[] = [
  {
    name: 'forceStatefulSet',
    description: 'Run the processor\'s instances with stable identities (StatefulSet) even when no input is partitioned.',
    valueHint: 'true | false', example: 'true', appliesTo: ['SRP', 'SCS'],
  },
  {
    name: 'partitionedInput',
    description: 'Treat the input as partitioned (stateful instances with fixed partitions) even without keys on the Stream.',
    valueHint: 'true | false', example: 'true', appliesTo: ['SRP', 'SCS'],
  },
  {
    name: 'debugQuery',
    description: 'FSQL: a query whose results are printed to the processor\'s log, for debugging.',
    valueHint: 'SQL query', example: 'SELECT * FROM SongPlays', appliesTo: ['FSQL'],
  },
  {
    name: 'debugExplain',
    description: 'FSQL: indexes (comma-separated) of the statements whose execution plan is printed to the log.',
    valueHint: 'comma-separated statement indexes', example: '2,3', appliesTo: ['FSQL'],
  },
];

const BY_NAME = new Map(SRP_ATTRIBUTES.map((a) => [a.name, a]));

/** The catalogue entry of an srp.* attribute, or undefined if unknown. */
export function srpAttribute(name: string): AttributeSpec | undefined {
  return BY_NAME.get(name);
}

/** The known srp.* attribute closest to a misspelt one (for "did you mean"), if any is close enough. */
export function closestSrpAttribute(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of BY_NAME.keys()) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 5)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
