// Reads an original data-generator manifest as it is: the YAML documents of the file, the ConfigMap whose
// `application.yaml` configures `stream-data-generator` (`stream.data.generator`), and the Spring Cloud Stream
// bindings of that same application.yaml, which map each generator stream's `destination.name` (a binding name) to a
// destination (`destination: songs`). Defaults are the original's (StreamDataGeneratorApplicationProperties):
// valueFormat JSON, initialDelay 10ms, messageDelay 1s, no repeat without `delay`, no end without `terminateAfter`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parseDuration } from '../../crds/expressions/duration';
import type { AvroJson } from './records';

export type ValueFormat = 'AVRO' | 'JSON';

export interface BatchConfig {
  size: number;
  initialDelayMs: number;
  messageDelayMs: number;
  /** Between the end of a batch and the start of the next; undefined = the batch runs once. */
  delayMs?: number;
}

export interface GeneratorStream {
  /** `streamName` (for messages). */
  name: string;
  /** The binding the records are sent to (`destination.name`, else `streamName`). */
  binding: string;
  /** The destination (topic or exchange) the binding names; the binding name itself when there is no binding. */
  destination: string;
  /** The binding's content type, when it declares one. */
  contentType?: string;
  valueFormat: ValueFormat;
  schema: AvroJson;
  batch: BatchConfig;
}

export interface GeneratorConfig {
  file: string;
  /** The ConfigMap the configuration came from. */
  configMap: string;
  terminateAfterMs?: number;
  streams: GeneratorStream[];
}

export class ConfigError extends Error {}

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** Spring's relaxed binding: `initialDelay`, `initial-delay` and `initial_delay` are one property. */
function prop(o: Obj | undefined, name: string): unknown {
  if (!o) return undefined;
  const want = name.toLowerCase().replace(/[-_]/g, '');
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase().replace(/[-_]/g, '') === want) return v;
  return undefined;
}

function duration(v: unknown, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const r = parseDuration(String(v));
  if (!r.ok) throw new ConfigError(`${where}: ${r.error}`);
  return r.value;
}

/** The `application.yaml` text of the manifest's data-generator ConfigMap. */
function applicationYaml(file: string, text: string): { configMap: string; yaml: string } {
  const found: Array<{ configMap: string; yaml: string }> = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new ConfigError(`${file}: ${doc.errors[0].message}`);
    const o = obj(doc.toJS());
    if (!o || o.kind !== 'ConfigMap') continue;
    const data = obj(o.data);
    const yaml = data?.['application.yaml'] ?? data?.['application.yml'];
    if (typeof yaml === 'string' && /stream:\s*\n\s*data:\s*\n\s*generator:/.test(yaml)) {
      found.push({ configMap: String(obj(o.metadata)?.name ?? ''), yaml });
    }
  }
  if (found.length === 0) {
    // A bare application.yaml works too.
    const plain = obj(parse(text));
    if (plain && prop(obj(prop(obj(prop(plain, 'stream')), 'data')), 'generator')) return { configMap: '', yaml: text };
    throw new ConfigError(`${file}: no ConfigMap with an application.yaml configuring stream.data.generator`);
  }
  if (found.length > 1) throw new ConfigError(`${file}: ${found.length} data-generator ConfigMaps; expected one`);
  return found[0];
}

/** Reads a data-generator manifest (or a bare application.yaml). */
export function readGeneratorConfig(path: string): GeneratorConfig {
  const file = resolve(path);
  if (!existsSync(file)) throw new ConfigError(`${path}: no such file`);
  const { configMap, yaml } = applicationYaml(path, readFileSync(file, 'utf8'));
  let app: Obj | undefined;
  try {
    app = obj(parse(yaml));
  } catch (err) {
    throw new ConfigError(`${path}: application.yaml: ${err instanceof Error ? err.message : String(err)}`);
  }
  const generator = obj(prop(obj(prop(obj(prop(app, 'stream')), 'data')), 'generator'));
  if (!generator) throw new ConfigError(`${path}: application.yaml has no stream.data.generator`);
  const bindings = obj(prop(obj(prop(obj(prop(obj(prop(app, 'spring')), 'cloud')), 'stream')), 'bindings')) ?? {};
  const list = prop(generator, 'streams');
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${path}: stream.data.generator.streams is empty`);

  const streams = list.map((raw, i): GeneratorStream => {
    const s = obj(raw) ?? {};
    const name = String(prop(s, 'streamName') ?? `streams[${i}]`);
    const where = `${path}: stream ${name}`;
    const destination = obj(prop(s, 'destination'));
    const binding = String(prop(destination, 'name') ?? prop(s, 'streamName') ?? '');
    if (!binding) throw new ConfigError(`${where}: no destination.name or streamName`);
    const bound = obj(bindings[binding]);
    const format = String(prop(s, 'valueFormat') ?? 'JSON').toUpperCase();
    if (format !== 'AVRO' && format !== 'JSON') throw new ConfigError(`${where}: valueFormat ${format} is not supported (AVRO or JSON)`);
    const batch = obj(prop(s, 'batch')) ?? {};
    const size = Number(prop(batch, 'size') ?? 0);
    if (!Number.isInteger(size) || size < 0) throw new ConfigError(`${where}: batch.size must be a whole number`);
    const contentType = prop(bound, 'contentType');
    return {
      name, binding,
      destination: String(prop(bound, 'destination') ?? binding),
      ...(typeof contentType === 'string' ? { contentType } : {}),
      valueFormat: format,
      schema: readSchema(s, where, dirname(file)),
      batch: {
        size,
        initialDelayMs: duration(prop(batch, 'initialDelay'), `${where}: batch.initialDelay`) ?? 10,
        messageDelayMs: duration(prop(batch, 'messageDelay'), `${where}: batch.messageDelay`) ?? 1000,
        ...(prop(batch, 'delay') !== undefined ? { delayMs: duration(prop(batch, 'delay'), `${where}: batch.delay`) } : {}),
      },
    };
  });
  const terminateAfterMs = duration(prop(generator, 'terminateAfter'), `${path}: terminateAfter`);
  return { file, configMap, ...(terminateAfterMs !== undefined ? { terminateAfterMs } : {}), streams };
}

/** `avroSchema` (JSON or YAML text, as the original's DataUtil.contentToSchema accepts) or `avroSchemaUri` (a file,
 *  relative to the manifest; `file:` and `classpath:`-less paths). */
function readSchema(s: Obj, where: string, base: string): AvroJson {
  const text = prop(s, 'avroSchema');
  const uri = prop(s, 'avroSchemaUri');
  if (text !== undefined && uri !== undefined) throw new ConfigError(`${where}: avroSchema and avroSchemaUri are mutually exclusive`);
  let source: string;
  if (typeof text === 'string') source = text;
  else if (typeof uri === 'string') {
    const path = resolve(base, uri.replace(/^file:(\/\/)?/, ''));
    if (!existsSync(path)) throw new ConfigError(`${where}: avroSchemaUri ${uri}: no such file (${path})`);
    source = readFileSync(path, 'utf8');
  } else throw new ConfigError(`${where}: no avroSchema or avroSchemaUri`);
  let schema: unknown;
  try {
    schema = parse(source);
  } catch (err) {
    throw new ConfigError(`${where}: avroSchema is neither JSON nor YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  const o = obj(schema);
  if (!o || o.type !== 'record') throw new ConfigError(`${where}: avroSchema must be an Avro record schema`);
  return o as AvroJson;
}
