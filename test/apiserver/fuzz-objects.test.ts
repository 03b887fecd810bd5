// Valid-but-odd objects: names of the maximum length, label values of 63 characters and long prefixed keys, unicode
// in annotations, empty lists and maps, very large but allowed specs, deep but allowed nesting, and every optional
// field of the CRDs (crds/*.yaml, walked schema by schema) at odd values — empty, huge, unicode, boundary numbers,
// many items. Each create must be accepted (201) or refused with 422 and field causes (then nothing is stored); an
// accepted object must round-trip: GET and LIST give exactly what the create answered, every field sent is there
// unchanged (the server adds only its own fields and defaults), and a PUT of it back changes nothing of it. A fixed
// set of odd objects that Kubernetes accepts must be accepted.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EtcdHandle } from '../support/etcd';
import { startEtcdAndApiServer, stopApiServerAndEtcd, type ApiServerHandle } from '../support/apiserver-server';
import { fuzzSeed, replayHint, seededRandom, type Random } from '../support/fuzz';
import { definitionFor, type OpenApiSchema } from '../../crds/loader';

const G = 'streaming.tanzu.vmware.com';
const GV = `/apis/${G}/v1alpha1`;
const PER_KIND = 45;
const CONCURRENCY = 6;
const SEED = fuzzSeed();
/** The server's nesting limit for bodies (apiserver/endpoints/codec.ts MAX_BODY_DEPTH); deep objects stay under it. */
const MAX_DEPTH = 100;
const KINDS = ['Stream', 'Processor', 'ClusterStream'] as const;
type Kind = (typeof KINDS)[number];
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

let etcd: EtcdHandle;
let api: ApiServerHandle;

function collectionPath(kind: Kind): string {
  return kind === 'ClusterStream' ? `${GV}/clusterstreams` : `${GV}/namespaces/fo/${kind === 'Stream' ? 'streams' : 'processors'}`;
}

/** A DNS subdomain of exactly `length` characters ending in `suffix`: labels of letters joined by dots. */
function subdomain(length: number, suffix: string): string {
  let text = '';
  while (text.length < length - suffix.length) text += text.length % 60 === 59 ? '.' : 'abcdefghij'[text.length % 10];
  text = text.slice(0, length - suffix.length);
  if (text.endsWith('.')) text = `${text.slice(0, -1)}z`;
  return `${text}${suffix}`;
}

const ODD_STRINGS = ['', 'x', 'ünïcødé ✓', '日本語のテキスト', '🎉🚀 emoji', 'שלום עולם', 'a\u0301\u202e\u200b', ' leading and trailing ', 'line\nbreak\ttab', '{"looks":"like json"}', 'key: yaml\n- item', '\\back\\slash "quotes"', 'x'.repeat(5000)];
const MAP_KEYS = ['a', 'b.c', 'ü-key', 'with space', 'UPPER', 'dash-key', 'k'.repeat(300), 'x/y', '0'];

/**
 * Fields whose strings semantic validation reads (names of things, expressions, URLs, SQL): odd values that are still
 * valid, used most of the time so that enough objects pass to have their round trip checked. Paths as in causes,
 * list items as `[]`.
 */
const VALID_STRINGS: Record<string, Json[]> = {
  'spec.name': ['topic', 'a.b_c-d', 't'.repeat(249)],
  'spec.keyExpression': ['payload.team', "headers['user']", 'payload.a.b.c'],
  'spec.keys[]': ['user', 'X-Key', 'k'.repeat(200)],
  'spec.binding': ['my-binding', 'b'.repeat(253)],
  'spec.storage.clusterStream': ['cs-1', 'c'.repeat(253)],
  'spec.storage.server.url': ['localhost:9092', 'kafka://broker-1:9092,broker-2:9092', 'amqp://user:pässword@host:5672/vhost'],
  'spec.dataSchemaContext.schemaless': ['application/json', 'text/plain'],
  'spec.dataSchemaContext.schemaRegistryUri': ['http://registry:8081', 'https://registry.example.com:443/path'],
  'spec.dataSchemaContext.timeAttributes[].name': ['ts', 'proctime'],
  'spec.dataSchemaContext.timeAttributes[].watermark': ["`ts` - INTERVAL '2' SECOND"],
  'spec.inputs[].name': ['in', 'i'.repeat(253)],
  'spec.outputs[].name': ['out', 'o'.repeat(253)],
  'spec.template.spec.containers[].name': ['app', 'c'.repeat(63)],
  'spec.template.spec.containers[].image': ['app:1', 'registry.example.com:5000/ns/app@sha256:' + '0'.repeat(64)],
};

/** An odd value for `schema`, valid by its rules most of the time (enums, minimums, quantities, list-map keys). */
function valueFor(schema: OpenApiSchema, random: Random, depth: number, path = 'spec'): Json {
  if (VALID_STRINGS[path] && random.chance(0.8)) return random.pick(VALID_STRINGS[path]);
  if (schema['x-kubernetes-int-or-string']) {
    return random.chance(0.9) ? random.pick<Json>(['100m', '1Gi', '2', 2, '0.5', '512Mi', '1e3', 0]) : random.pick(['lots', '1.2.3']);
  }
  if (schema.enum) return random.chance(0.92) ? random.pick(schema.enum as Json[]) : `${String(random.pick(schema.enum)).toUpperCase()}x`;
  switch (schema.type) {
    case 'string': return random.pick(ODD_STRINGS);
    case 'integer': {
      const min = schema.minimum ?? -5;
      const max = schema.maximum ?? (schema.format === 'int32' ? 2147483647 : 9007199254740991);
      return random.chance(0.9) ? random.pick([min, min + 1, max, Math.min(max, 1000)]) : random.pick([min - 1, max + 1, 1.5]);
    }
    case 'number': return random.pick([0, -0.5, 1e-9, 123456.789]);
    case 'boolean': return random.chance(0.5);
    case 'array': {
      // An SRP Processor reads at least one input: its inputs are mostly there.
      const length = random.pick(path === 'spec.inputs' ? [1, 1, 2, 3, 25] : [0, 0, 1, 2, 3, 25]);
      const keys = schema['x-kubernetes-list-map-keys'] ?? [];
      const items = Array.from({ length }, () => valueFor(schema.items ?? {}, random, depth + 1, `${path}[]`));
      // List-maps need distinct keys: make them so, except now and then (then a 422 is the right answer).
      if (keys.length > 0 && random.chance(0.95)) {
        items.forEach((item, i) => {
          if (item && typeof item === 'object' && !Array.isArray(item)) {
            for (const key of keys) if (schema.items?.properties?.[key]?.type === 'string') item[key] = `item-${i}`; else if (key === 'containerPort') item[key] = 1000 + i;
          }
        });
      }
      return items;
    }
    case 'object':
    default: {
      if (schema['x-kubernetes-preserve-unknown-fields'] && !schema.properties) return deepValue(random, random.between(3, MAX_DEPTH - depth - 5));
      const out: JsonObject = {};
      if (schema.properties) {
        let required = new Set(schema.required ?? []);
        if (schema.oneOf) {
          // Exactly one alternative, as the schema asks (now and then two, for the 422).
          const alternatives = schema.oneOf.flatMap((alt) => alt.required ?? []);
          required = new Set([...required, random.pick(alternatives), ...(random.chance(0.05) ? [random.pick(alternatives)] : [])]);
          for (const [name, property] of Object.entries(schema.properties)) {
            if (required.has(name)) out[name] = valueFor(property, random, depth + 1, `${path}.${name}`);
            else if (!alternatives.includes(name) && random.chance(0.4)) out[name] = valueFor(property, random, depth + 1, `${path}.${name}`);
          }
          return out;
        }
        for (const [name, property] of Object.entries(schema.properties)) {
          if (required.has(name) || random.chance(`${path}.${name}` === 'spec.inputs' ? 0.9 : 0.4)) out[name] = valueFor(property, random, depth + 1, `${path}.${name}`);
        }
        return out;
      }
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        const count = random.pick([0, 0, 1, 3, 60]);
        for (let i = 0; i < count; i++) out[`${random.pick(MAP_KEYS)}${i > MAP_KEYS.length ? i : ''}`] = valueFor(schema.additionalProperties, random, depth + 1, `${path}[]`);
      }
      return out;
    }
  }
}

/** Free-form JSON (x-kubernetes-preserve-unknown-fields), `levels` deep. */
function deepValue(random: Random, levels: number): Json {
  let value: Json = random.pick<Json>(['leaf', 7, true, 'ünï', 0.25, '']);
  for (let level = 0; level < levels; level++) {
    value = random.chance(0.8) ? { [random.pick(['a', 'key', 'secretKeyRef', 'ü', 'n'])]: value, ...(random.chance(0.2) ? { sibling: [1, 'two', { three: 3 }] } : {}) } : [value, random.pick<Json>(['x', 1, false])];
  }
  return value;
}

function metadataFor(index: number, random: Random): JsonObject {
  const suffix = `-${index}`;
  const name = random.pick([`o${suffix}`, subdomain(253, suffix), subdomain(63, suffix), `a.b-c.d${suffix}`, `0${suffix}`]);
  const metadata: JsonObject = { name };
  if (random.chance(0.5)) {
    metadata.labels = random.pick<JsonObject>([
      { app: 'v'.repeat(63) },
      { [`${subdomain(240, '.io')}/${'n'.repeat(63)}`]: 'x' },
      { 'example.com/empty': '' },
      Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, `v-${i}.x_y`])),
    ]);
  }
  if (random.chance(0.6)) {
    metadata.annotations = random.pick<JsonObject>([
      { 'example.com/unicode': '日本語 🎉 עברית \u202e ÿ e\u0301 \u0000 nul' },
      { note: 'multi\nline\n\ttext', json: '{"a":[1,2,{"b":null}]}', empty: '' },
      { big: 'b'.repeat(random.between(1000, 200_000)) },
      Object.fromEntries(ODD_STRINGS.map((value, i) => [`odd.example.com/v${i}`, value])),
    ]);
  }
  return metadata;
}

function randomObject(kind: Kind, index: number, random: Random): JsonObject {
  const schema = definitionFor(kind)?.schema.properties?.spec;
  assert.ok(schema, `${kind} has a spec schema`);
  return { apiVersion: `${G}/v1alpha1`, kind, metadata: metadataFor(index, random), spec: valueFor(schema, random, 2) as JsonObject };
}

/** Odd objects Kubernetes accepts for these CRDs: each must be accepted here too. */
function acceptedByKubernetes(): Array<{ what: string; kind: Kind; object: JsonObject; warnings?: (warnings: string[]) => boolean }> {
  const stream = (metadata: JsonObject, spec: JsonObject = {}): JsonObject => ({ apiVersion: `${G}/v1alpha1`, kind: 'Stream', metadata, spec: { protocol: 'kafka', ...spec } });
  const nest = (levels: number): Json => Array.from({ length: levels }).reduce<Json>((inner) => ({ n: inner }), 'bottom');
  return [
    // A Kafka topic name has at most 249 characters, so these long names name a shorter destination.
    { what: 'a 253-character name', kind: 'Stream', object: stream({ name: subdomain(253, '-max') }, { name: 'topic' }) },
    { what: 'a 253-character ClusterStream name', kind: 'ClusterStream', object: { apiVersion: `${G}/v1alpha1`, kind: 'ClusterStream', metadata: { name: subdomain(253, '-cs') }, spec: { name: 'topic', storage: { server: { url: 'localhost:9092', protocol: 'kafka' } } } } },
    { what: 'a 253-character name on RabbitMQ', kind: 'Stream', object: stream({ name: subdomain(253, '-amqp') }, { protocol: 'rabbitmq' }) },
    { what: '63-character label values and a 253-character key prefix', kind: 'Stream', object: stream({ name: 'labels', labels: { app: 'v'.repeat(63), [`${subdomain(253, '')}/${'n'.repeat(63)}`]: 'x'.repeat(63), empty: '' } }) },
    { what: 'unicode annotations', kind: 'Stream', object: stream({ name: 'unicode', annotations: { 'example.com/text': '日本語 🎉 עברית \u202e ÿ e\u0301', emoji: '🚀'.repeat(1000) } }) },
    { what: 'annotations just under 256 KiB', kind: 'Stream', object: stream({ name: 'big-annotations', annotations: { big: 'b'.repeat(256 * 1024 - 100) } }) },
    { what: 'empty lists and maps', kind: 'Stream', object: stream({ name: 'empties', labels: {}, annotations: {} }, { keys: [], streamMode: [], attributes: {}, storage: {} }) },
    { what: 'a large spec (a map of 4,000 attributes)', kind: 'Stream', object: stream({ name: 'large' }, { attributes: Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`attribute.${i}`, `value-${i}-${'v'.repeat(60)}`])) }) },
    {
      what: 'a warning that quotes unicode (a primaryKey naming no declared field)', kind: 'Stream',
      warnings: (warnings) => warnings.some((w) => /^299 - ".*primaryKey\[0\].*日本 🎉.*is not a declared field/.test(w)),
      object: stream({ name: 'unicode-warning' }, { dataSchemaContext: { schema: { name: 'r', namespace: 'n', fields: [{ name: 'a', type: 'string' }] }, primaryKey: ['日本 🎉 "q"\n'] } }),
    },
    {
      // Beyond 4,096 characters in all, kube cuts each warning to 256 and stops at 4,096 (a client's header limit).
      what: 'forty long warnings, truncated as kube truncates them', kind: 'Stream',
      warnings: (warnings) => warnings.length >= 10 && warnings.length <= 17 && warnings.every((w) => w.length <= 256 + 20),
      object: stream({ name: 'many-warnings' }, { dataSchemaContext: { schema: { name: 'r', namespace: 'n', fields: [{ name: 'a', type: 'string' }] }, primaryKey: Array.from({ length: 40 }, (_, i) => `key-${i}-${'k'.repeat(400)}`) } }),
    },
    // An SRP processor reads at least one input: every other list and map is empty.
    { what: 'a Processor with empty lists and maps', kind: 'Processor', object: { apiVersion: `${G}/v1alpha1`, kind: 'Processor', metadata: { name: 'empty-lists', labels: {} }, spec: { inputs: [{ name: 'in' }], outputs: [], attributes: {}, inlineQuery: [], template: { spec: { containers: [] } } } } },
    {
      what: 'nesting 90 levels deep where the schema keeps unknown fields', kind: 'Processor',
      object: { apiVersion: `${G}/v1alpha1`, kind: 'Processor', metadata: { name: 'deep' }, spec: { type: 'SCS', template: { spec: { containers: [{ name: 'app', image: 'app:1', env: [{ name: 'DEEP', valueFrom: { deep: nest(MAX_DEPTH - 12) } }] }] } } } },
    },
  ];
}

/** Paths where a value sent is not in what was stored, unchanged. */
function notKept(sent: Json, stored: Json | undefined, path: string): string[] {
  if (Array.isArray(sent)) {
    if (!Array.isArray(stored) || stored.length !== sent.length) return [path];
    return sent.flatMap((item, i) => notKept(item, stored[i], `${path}[${i}]`));
  }
  if (sent !== null && typeof sent === 'object') {
    if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return [path];
    return Object.entries(sent).flatMap(([key, value]) => notKept(value, stored[key], `${path}.${key}`));
  }
  return Object.is(sent, stored) ? [] : [path];
}

interface Outcome { kind: Kind; name: string; status: number; problems: string[]; refusal?: string; refusedFields?: string[]; warnings?: string[] }

async function createAndRoundTrip(kind: Kind, object: JsonObject): Promise<Outcome> {
  const name = String((object.metadata as JsonObject).name);
  const problems: string[] = [];
  const created = await api.request('POST', collectionPath(kind), { body: JSON.stringify(object), headers: { 'content-type': 'application/json' } });
  const item = `${collectionPath(kind)}/${name}`;
  if (created.status === 422) {
    const status = created.json<{ kind?: string; reason?: string; details?: { causes?: Array<{ field?: string; message?: string }> } }>();
    const causes = status.details?.causes ?? [];
    if (status.kind !== 'Status' || status.reason !== 'Invalid') problems.push('a 422 that is not an Invalid Status');
    if (causes.length === 0 || causes.some((cause) => !cause.field || !cause.message)) problems.push(`a 422 without field causes: ${created.body.slice(0, 300)}`);
    const after = await api.request('GET', item);
    if (after.status !== 404) problems.push(`refused, yet GET answers ${after.status}`);
    return { kind, name, status: 422, problems, refusal: causes.map((cause) => `${cause.field}: ${cause.message}`).join('; '), refusedFields: causes.map((cause) => String(cause.field)) };
  }
  if (created.status !== 201) return { kind, name, status: created.status, problems: [`answered ${created.status}: ${created.body.slice(0, 300)}`] };
  const stored = created.json<JsonObject>();
  // Warning headers carry UTF-8 bytes (as kube-apiserver's); Node's client reads each byte as a latin1 character and
  // joins repeated headers with ", " (a quote inside a warning is escaped, so `, 299 - "` starts the next one).
  const header = created.headers.warning;
  const warnings = (header === undefined ? [] : Array.isArray(header) ? header : [header])
    .flatMap((w) => Buffer.from(w, 'latin1').toString('utf8').split(/, (?=299 - ")/));
  const got = await api.request('GET', item);
  if (got.status !== 200) problems.push(`GET answers ${got.status}`);
  else if (JSON.stringify(got.json<JsonObject>()) !== JSON.stringify(stored)) problems.push('GET differs from what the create answered');
  const lost = [...notKept(object.spec as Json, stored.spec, 'spec'), ...['labels', 'annotations'].flatMap((field) => notKept((object.metadata as JsonObject)[field] ?? {}, (stored.metadata as JsonObject)[field] ?? {}, `metadata.${field}`))];
  if (lost.length > 0) problems.push(`not stored as sent: ${lost.slice(0, 5).join(', ')}`);
  const put = await api.request('PUT', item, { body: JSON.stringify(stored), headers: { 'content-type': 'application/json' } });
  if (put.status !== 200) problems.push(`PUT of the stored object answers ${put.status}: ${put.body.slice(0, 200)}`);
  else {
    const again = put.json<JsonObject>();
    const changed = ['spec', 'metadata.labels', 'metadata.annotations', 'metadata.generation'].filter((field) => {
      const pick = (o: JsonObject): Json | undefined => field.split('.').reduce<Json | undefined>((v, k) => (v && typeof v === 'object' && !Array.isArray(v) ? v[k] : undefined), o);
      return JSON.stringify(pick(again)) !== JSON.stringify(pick(stored));
    });
    if (changed.length > 0) problems.push(`a PUT of the object as stored changed ${changed.join(', ')}`);
  }
  return { kind, name, status: 201, problems, warnings };
}

before(async () => {
  ({ etcd, api } = await startEtcdAndApiServer());
});

after(() => stopApiServerAndEtcd(api, etcd));

test('odd objects Kubernetes accepts are accepted and round-trip', { timeout: 120_000 }, async () => {
  const failures: string[] = [];
  for (const { what, kind, object, warnings } of acceptedByKubernetes()) {
    const outcome = await createAndRoundTrip(kind, object);
    if (outcome.status !== 201) failures.push(`${what}: ${outcome.status} ${outcome.refusal ?? ''} ${outcome.problems.join('; ')}`);
    else if (outcome.problems.length > 0) failures.push(`${what}: ${outcome.problems.join('; ')}`);
    else if (warnings && !warnings(outcome.warnings ?? [])) failures.push(`${what}: warnings ${JSON.stringify(outcome.warnings).slice(0, 600)}`);
  }
  assert.deepEqual(failures, []);
});

test(`${PER_KIND * KINDS.length} schema-driven odd objects: 201 and a faithful round trip, or 422 with causes`, { timeout: 300_000 }, async (t) => {
  t.diagnostic(replayHint(SEED));
  const random = seededRandom(SEED);
  const plan = KINDS.flatMap((kind) => Array.from({ length: PER_KIND }, (_, i) => ({ kind, object: randomObject(kind, i, random) })));
  const outcomes: Array<Outcome & { object: JsonObject }> = [];
  let index = 0;
  const worker = async (): Promise<void> => {
    while (index < plan.length) {
      const { kind, object } = plan[index++];
      outcomes.push({ ...(await createAndRoundTrip(kind, object)), object });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const tally = Object.fromEntries(KINDS.map((kind) => [kind, { accepted: outcomes.filter((o) => o.kind === kind && o.status === 201).length, refused: outcomes.filter((o) => o.kind === kind && o.status === 422).length }]));
  t.diagnostic(`outcomes: ${JSON.stringify(tally)}`);
  const refusedFields = new Map<string, number>();
  for (const o of outcomes) for (const field of new Set((o.refusedFields ?? []).map((f) => f.replace(/\[[^\]]*\]/g, '[]')))) refusedFields.set(field, (refusedFields.get(field) ?? 0) + 1);
  t.diagnostic(`refused for: ${JSON.stringify(Object.fromEntries([...refusedFields].sort((a, b) => b[1] - a[1]).slice(0, 12)))}`);
  const failures = outcomes.filter((o) => o.problems.length > 0 || ![201, 422].includes(o.status)).slice(0, 10)
    .map((o) => `${o.kind} ${o.name.slice(0, 40)}: ${o.problems.join('; ')} — sent ${JSON.stringify(o.object).slice(0, 400)}`);
  assert.deepEqual(failures, [], `${replayHint(SEED)}; ${JSON.stringify(tally)}`);
  for (const kind of KINDS) assert.ok(tally[kind].accepted > 0, `some ${kind}s were accepted: ${JSON.stringify(tally)}`);

  // A list agrees with the objects one by one.
  for (const kind of KINDS) {
    const list = (await api.request('GET', collectionPath(kind))).json<{ items: JsonObject[] }>();
    const accepted = new Set(outcomes.filter((o) => o.kind === kind && o.status === 201).map((o) => o.name));
    const listed = list.items.map((item) => String((item.metadata as JsonObject).name)).filter((name) => accepted.has(name));
    assert.equal(listed.length, accepted.size, `every accepted ${kind} is listed`);
    for (const item of list.items.filter((entry) => accepted.has(String((entry.metadata as JsonObject).name))).slice(0, 20)) {
      const one = await api.request('GET', `${collectionPath(kind)}/${String((item.metadata as JsonObject).name)}`);
      assert.equal(JSON.stringify(item), JSON.stringify(one.json<JsonObject>()), `the listed ${kind} is the one GET gives`);
    }
  }
});
