// `sr generate` without brokers: the samples' configurations as read, every expression the samples use (each
// checked for what the original's would give), SpEL, record docs, the schedule, and seeded reproducibility of the
// command itself (`--dry-run`).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readGeneratorConfig, type GeneratorConfig } from './config';
import { compileExpression, compileFakerTemplate, UnknownExpressionError } from './faker';
import { CREDIT_CARD_EXPIRY_DATES, CREDIT_CARD_NUMBERS, CREDIT_CARD_TYPES, ANCIENT_GODS, ANCIENT_HEROES, APP_NAMES, CHUCK_NORRIS_FACTS } from './lists';
import { compileDoc, RecordGenerator, RecordSkipped, SchemaExpressionError, type AvroJson } from './records';
import { compileSpel, SharedPool } from './spel';
import { fakerFor, GeneratorRun } from './run';
import { avroEncoder, jsonEncoder } from './avro';
import { Type, type Schema } from 'avsc';
import type { OutMessage, Sink } from './producer';
import { tempDir } from '../../test/support/tmp';

const SAMPLES = resolve(__dirname, '..', '..', '..', '..', 'shared', 'sr-samples');
const SR = resolve(__dirname, '..', 'sr.js');
const run = promisify(execFile);
const sampleFiles = readdirSync(SAMPLES).filter((f) => /data-generator.*\.yaml$/.test(f)).map((f) => join(SAMPLES, f));
const configs: GeneratorConfig[] = sampleFiles.map((f) => readGeneratorConfig(f));

/** Every field doc of a schema, recursively. */
function docs(schema: AvroJson): string[] {
  if (typeof schema === 'string') return [];
  if (Array.isArray(schema)) return schema.flatMap(docs);
  const fields = Array.isArray(schema.fields) ? (schema.fields as Array<{ type: AvroJson; doc?: string }>) : [];
  return fields.flatMap((f) => [...(f.doc ? [f.doc] : []), ...docs(f.type)]);
}

const allDocs = [...new Set(configs.flatMap((c) => c.streams.flatMap((s) => docs(s.schema))))];
const fakerBodies = [...new Set(allDocs.flatMap((d) => [...d.matchAll(/#\{([^}]*)\}/g)].map((m) => m[1])))];
const spelBodies = [...new Set(allDocs.flatMap((d) => [...d.matchAll(/\[\[(.*?)\]\]/g)].map((m) => m[1])))];

function sample(body: string, n = 3000, seed = 11): string[] {
  const fn = compileExpression(body);
  const faker = fakerFor(seed, 0);
  return Array.from({ length: n }, () => fn(faker));
}

const inList = (list: readonly string[]) => (values: string[]): void => {
  for (const v of values) assert.ok(list.includes(v), `${v} is not in the list`);
};
const varied = (values: string[]): void => {
  assert.ok(values.every((v) => typeof v === 'string' && v.trim().length > 0), 'non-empty');
  assert.ok(new Set(values).size > 20, `varied values, got ${new Set(values).size}`);
};

/** What each expression the samples use must produce (by provider; arguments checked generically below). */
const CHECKS: Record<string, (values: string[], args: string[]) => void> = {
  'number.number_between': (values, [a, b]) => {
    const [min, max] = [Number(a), Number(b)];
    const ns = values.map(Number);
    assert.ok(ns.every((n) => Number.isInteger(n) && n >= min && n < max), `every value in [${min}, ${max})`);
    if (max - min <= 30) {
      // Java's upper bound is exclusive: the maximum never comes, max - 1 and the minimum do.
      assert.ok(ns.includes(min) && ns.includes(max - 1) && !ns.includes(max), `${min} and ${max - 1} seen, ${max} never`);
    }
  },
  'options.option': (values, args) => {
    const counts = new Map<string, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    for (const v of values) assert.ok(args.includes(v), `${JSON.stringify(v)} is one of the options`);
    // Duplicates are weights: a value listed k times of n comes about k/n of the time.
    for (const option of new Set(args)) {
      const expected = (args.filter((x) => x === option).length / args.length) * values.length;
      const got = counts.get(option) ?? 0;
      assert.ok(Math.abs(got - expected) < Math.max(5 * Math.sqrt(expected), 10), `${JSON.stringify(option)}: ${got} of ${values.length}, expected about ${expected.toFixed(0)}`);
    }
  },
  'name.fullName': (values) => { varied(values); assert.ok(values.every((v) => /\S+ \S+/.test(v)), 'first and last name'); },
  'business.credit_card_numbers': (values) => { inList(CREDIT_CARD_NUMBERS)(values); assert.equal(new Set(values).size, 4); },
  'business.credit_card_types': (values) => { inList(CREDIT_CARD_TYPES)(values); assert.equal(new Set(values).size, CREDIT_CARD_TYPES.length); },
  'business.credit_card_expiry_dates': (values) => { inList(CREDIT_CARD_EXPIRY_DATES)(values); assert.equal(new Set(values).size, 4); },
  'id_number.valid': (values) => {
    for (const v of values) {
      const m = /^(\d{3})-(\d{2})-(\d{4})$/.exec(v);
      assert.ok(m, v);
      assert.ok(m[1] !== '000' && m[1] !== '666' && m[1][0] !== '9' && m[2] !== '00' && m[3] !== '0000', v);
    }
    assert.ok(new Set(values).size > values.length * 0.99, 'practically unique');
  },
  'internet.emailAddress': (values) => { varied(values); assert.ok(values.every((v) => /^[^@\s]+@[^@\s]+\.[a-z]+$/i.test(v)), 'e-mail addresses'); },
  'internet.userAgentAny': (values) => { varied(values); assert.ok(values.every((v) => /\/\d/.test(v)), 'product/version tokens'); },
  'music.genres': (values) => { assert.ok(values.every((v) => v.length > 0)); assert.ok(new Set(values).size > 10); },
  'artist.names': varied,
  'rock_band.name': varied,
  'ancient.hero': (values) => { inList(ANCIENT_HEROES)(values); assert.ok(new Set(values).size > 5); },
  'ancient.god': (values) => { inList(ANCIENT_GODS)(values); assert.ok(new Set(values).size > 5); },
  'app.name': (values) => { inList(APP_NAMES)(values); assert.ok(new Set(values).size > 5); },
  'chuck_norris.fact': (values) => { inList(CHUCK_NORRIS_FACTS)(values); assert.ok(new Set(values).size > 5); },
};

describe('the samples as read', () => {
  it('finds every data-generator sample and reads its streams, bindings and batches', () => {
    assert.equal(sampleFiles.length, 7);
    const byFile = Object.fromEntries(configs.map((c) => [c.file.split('/').pop()!.replace(/__data-generator\.yaml$/, ''), c]));
    const shape = (c: GeneratorConfig): unknown => c.streams.map((s) => [s.name, s.binding, s.destination, s.valueFormat, s.batch.size, s.batch.initialDelayMs, s.batch.messageDelayMs, s.batch.delayMs]);
    assert.deepEqual(shape(byFile['top-k-songs']), [
      ['stream-songs', 'kafka-stream-songs', 'songs', 'AVRO', 100, 1, 10, undefined],
      ['stream-playevents', 'kafka-stream-playevents', 'playevents', 'AVRO', 1, 10, 100, 100],
    ]);
    assert.equal(byFile['top-k-songs'].terminateAfterMs, 260_000);
    assert.deepEqual(shape(byFile.clickstream), [
      ['kafka-stream-user', 'kafka-stream-user', 'user', 'AVRO', 100, 100, 100, undefined],
      ['kafka-stream-click', 'kafka-stream-click', 'click', 'AVRO', 1, 100, 100, 500],
    ]);
    assert.deepEqual(shape(byFile['iot-monitoring']), [['iot-monitoring-stream', 'iot-monitoring-stream', 'iot-monitoring', 'AVRO', 100, 10, 10, 3000]]);
    assert.deepEqual(shape(byFile['anomaly-detection']), [
      ['card-authorizations', 'card-authorizations', 'card-authorizations', 'AVRO', 100, 1000, 1000, 1000],
      ['card-authorizations', 'card-authorizations', 'card-authorizations', 'AVRO', 50, 1000, 100, 25_000],
    ]);
    assert.equal(byFile['anomaly-detection'].terminateAfterMs, 60_000);
    assert.deepEqual(shape(byFile.tutorials), [['stream-songs', 'kafka-stream-songs', 'data-in', 'JSON', 100, 1, 100, 30_000]]);
    assert.equal(byFile.tutorials.configMap, 'data-generator-configmap');
  });

  it('compiles every stream of every sample', () => {
    for (const c of configs) for (const s of c.streams) new RecordGenerator(s.schema, s.name);
  });
});

describe('Java Faker expressions of the samples', () => {
  it('every expression a sample uses is checked here', () => {
    const providers = fakerBodies.map((b) => /^\s*(\S+)/.exec(b)![1]);
    const unchecked = [...new Set(providers)].filter((p) => !CHECKS[p]);
    assert.deepEqual(unchecked, [], 'expressions used by a sample without a check in CHECKS');
    assert.ok(fakerBodies.length >= 20, `${fakerBodies.length} distinct expressions`);
  });

  for (const body of fakerBodies) {
    it(`#{${body}}`, () => {
      const m = /^\s*(\S+)\s*(.*)$/.exec(body)!;
      const args = [...m[2].matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((a) => a[1]);
      CHECKS[m[1]](sample(body), args);
    });
  }

  it('composites: several expressions and literal text in one doc', () => {
    const faker = fakerFor(5, 0);
    const album = compileFakerTemplate('#{ancient.hero} #{ancient.god}');
    for (let i = 0; i < 200; i++) {
      const [hero, god, ...rest] = album(faker).split(' ');
      assert.ok(ANCIENT_HEROES.includes(hero) && ANCIENT_GODS.includes(god) && rest.length === 0);
    }
    const version = compileFakerTemplate("#{number.number_between '0','10'}.#{number.number_between '0','20'}.#{number.number_between '0','20'}#{options.option ' ',' ',' ',' ',' ',' ',' ','-SNAPSHOT'}");
    const versions = Array.from({ length: 2000 }, () => version(faker));
    for (const v of versions) assert.match(v, /^\d\.(1?\d)\.(1?\d)( |-SNAPSHOT)$/);
    const snapshots = versions.filter((v) => v.endsWith('-SNAPSHOT')).length;
    assert.ok(snapshots > 150 && snapshots < 350, `-SNAPSHOT is 1 option in 8: ${snapshots} of 2000`);
  });

  it('matches names as Java Faker does (case, underscores, method names) and quotes with spaces', () => {
    const faker = fakerFor(1, 0);
    assert.ok(CREDIT_CARD_NUMBERS.includes(compileExpression('business.creditCardNumbers')(faker)));
    assert.ok(CREDIT_CARD_NUMBERS.includes(compileExpression('Business.Credit_Card_Numbers')(faker)));
    assert.equal(compileExpression("number.numberBetween '7','8'")(faker), '7');
    assert.equal(compileExpression("number.number_between '7','7'")(faker), '7');
    assert.equal(compileExpression("options.option 'a b'")(faker), 'a b');
    assert.ok(['x', 'y z'].includes(compileExpression("options.option 'x',   'y z'")(faker)));
  });

  it('refuses unknown expressions and wrong arguments, naming the field', () => {
    assert.throws(() => compileExpression('business.unicorns'), (e: Error) => e instanceof UnknownExpressionError && /unknown Faker expression #\{business\.unicorns\}/.test(e.message));
    assert.throws(() => compileExpression("number.number_between '1'"), /takes two arguments/);
    assert.throws(() => compileExpression("number.number_between 'a','b'"), /two integers/);
    const schema = { type: 'record', name: 'R', fields: [{ name: 'ok', type: 'string', doc: '#{name.fullName}' }, { name: 'bad', type: 'string', doc: '#{pokemon.name}' }] };
    assert.throws(() => new RecordGenerator(schema, 'stream s'), (e: Error) => e instanceof SchemaExpressionError && e.message.startsWith('stream s.bad: unknown Faker expression #{pokemon.name}'));
    const spel = { type: 'record', name: 'R', fields: [{ name: 'when', type: 'long', doc: '[[new java.util.Date()]]' }] };
    assert.throws(() => new RecordGenerator(spel, 'stream s'), /stream s\.when: unsupported SpEL expression/);
  });
});

describe('SpEL and record docs', () => {
  it('knows every SpEL form of the samples', () => {
    assert.deepEqual(spelBodies.sort(), ["#shared.field('song.song_id')?:666", "#shared.field('user.user_id')", 'T(System).currentTimeMillis()']);
    for (const b of spelBodies) compileSpel(b);
  });

  it('currentTimeMillis, the shared pool with and without fallback', () => {
    const shared = new SharedPool();
    const ctx = { now: () => 1234, shared, faker: fakerFor(1, 0), variables: {} };
    assert.equal(compileSpel('T(System).currentTimeMillis()')(ctx), 1234);
    assert.equal(compileSpel("#shared.field('song.song_id')?:666")(ctx), 666);
    assert.equal(compileSpel("#shared.field('user.user_id')")(ctx), undefined);
    // Alone in a doc, null skips the record (the original sends nothing for it).
    assert.throws(() => compileDoc("[[#shared.field('user.user_id')]]")(ctx), RecordSkipped);
    shared.add('song.song_id', 7);
    shared.add('song.song_id', 9);
    const seen = new Set(Array.from({ length: 50 }, () => compileSpel("#shared.field('song.song_id')?:666")(ctx)));
    assert.deepEqual([...seen].sort(), [7, 9]);
  });

  it('to_share feeds the pool as <record>.<field>; unique_on returns the first record of a value', () => {
    const shared = new SharedPool();
    const ctx = { faker: fakerFor(3, 0), shared, now: () => 0 };
    const songs = new RecordGenerator({
      type: 'record', name: 'Song', doc: 'unique_on=song_id;to_share=song_id',
      fields: [{ name: 'song_id', type: 'long', doc: "#{number.number_between '1','4'}" }, { name: 'name', type: 'string', doc: '#{name.fullName}' }],
    }, 'songs');
    const made = Array.from({ length: 60 }, () => songs.next(ctx));
    const byId = new Map<unknown, unknown>();
    for (const r of made) {
      if (!byId.has(r.song_id)) byId.set(r.song_id, r.name);
      assert.equal(r.name, byId.get(r.song_id), 'same id, same record');
    }
    assert.deepEqual([...byId.keys()].sort(), [1, 2, 3]);
    assert.equal(shared.size('song.song_id'), 60);
    const plays = new RecordGenerator({ type: 'record', name: 'PlayEvent', fields: [{ name: 'song_id', type: 'long', doc: "[[#shared.field('song.song_id')?:666]]" }] }, 'plays');
    for (let i = 0; i < 20; i++) assert.ok([1, 2, 3].includes(plays.next(ctx).song_id as number));
  });

  it('converts doc text to the field type and skips records whose text does not fit', () => {
    const ctx = { faker: fakerFor(3, 0), shared: new SharedPool(), now: () => 42 };
    const g = new RecordGenerator({
      type: 'record', name: 'T', fields: [
        { name: 'i', type: 'int', doc: "#{number.number_between '5','6'}" },
        { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: '[[T(System).currentTimeMillis()]]' },
        { name: 'd', type: 'double', doc: '2.5' },
        { name: 'b', type: 'boolean', doc: "#{options.option 'true'}" },
        { name: 'free', type: 'string' },
      ],
    }, 't');
    const r = g.next(ctx);
    assert.deepEqual([r.i, r.ts, r.d, r.b, typeof r.free], [5, 42, 2.5, true, 'string']);
    const bad = new RecordGenerator({ type: 'record', name: 'T', fields: [{ name: 'n', type: 'int', doc: '#{name.fullName}' }] }, 't');
    assert.throws(() => bad.next(ctx), (e: Error) => e instanceof RecordSkipped && /t\.n: ".*" is not an integer/.test(e.message));
  });
});

class MemorySink implements Sink {
  readonly description = 'memory';
  readonly sent: Array<{ destination: string; at: number; message: OutMessage }> = [];
  async send(destination: string, messages: OutMessage[]): Promise<void> {
    for (const message of messages) this.sent.push({ destination, at: Date.now(), message });
  }
  async close(): Promise<void> { /* nothing */ }
}

describe('Avro encoding', () => {
  it('encodes records with unions, nested records, arrays and logical types as Avro reads them back', () => {
    const schema = {
      type: 'record', name: 'Outer', namespace: 'sr.test', fields: [
        { name: 'maybe', type: ['null', 'string'], doc: '#{name.fullName}' },
        { name: 'either', type: ['int', 'string'] },
        { name: 'inner', type: { type: 'record', name: 'Inner', fields: [{ name: 'n', type: 'long', doc: "#{number.number_between '1','3'}" }] } },
        { name: 'tags', type: { type: 'array', items: 'string' }, doc: "#{options.option 'a','b'}" },
        { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: '[[T(System).currentTimeMillis()]]' },
        { name: 'level', type: { type: 'enum', name: 'Level', symbols: ['LOW', 'HIGH'] } },
      ],
    };
    const generator = new RecordGenerator(schema, 'outer');
    const encoder = avroEncoder(schema, 5);
    const type = Type.forSchema(schema as Schema, { wrapUnions: false });
    const ctx = { faker: fakerFor(2, 0), shared: new SharedPool(), now: () => 1_700_000_000_000 };
    const maybes = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const record = generator.next(ctx);
      const framed = encoder.encode(record);
      assert.deepEqual([...framed.subarray(0, 5)], [0, 0, 0, 0, 5]);
      const back = type.fromBuffer(framed.subarray(5)) as Record<string, unknown>;
      assert.equal(JSON.stringify(back), JSON.stringify(record));
      maybes.add(record.maybe === null ? 'null' : typeof record.maybe);
      assert.ok([1, 2].includes((record.inner as { n: number }).n));
      assert.ok((record.tags as string[]).every((t) => t === 'a' || t === 'b'));
      assert.equal(record.ts, 1_700_000_000_000);
    }
    assert.deepEqual([...maybes].sort(), ['null', 'string'], 'a random branch of the union, as the original');
  });
});

describe('the schedule', () => {
  const schema = { type: 'record', name: 'N', fields: [{ name: 'n', type: 'int', doc: "#{number.number_between '0','10'}" }] };
  const stream = (batch: { size: number; initialDelayMs: number; messageDelayMs: number; delayMs?: number }) =>
    ({ name: 's', binding: 's', destination: 'd', valueFormat: 'JSON' as const, schema, batch });

  it('initialDelay, then size records messageDelay apart, then the next batch a delay after the last', async () => {
    const sink = new MemorySink();
    const started = Date.now();
    const run = new GeneratorRun([{ stream: stream({ size: 3, initialDelayMs: 150, messageDelayMs: 40, delayMs: 300 }), destination: 'd', sink, encoder: jsonEncoder() }], { stopAfterMs: 1000 });
    await run.run();
    const at = sink.sent.map((s) => s.at - started);
    // Batch 1 at ~150, 190, 230; it ends ~270; batch 2 at ~570, 610, 650; ends ~690; batch 3 would start ~990+.
    assert.ok(at.length === 6 || at.length === 7, `records at ${at.join(', ')}`);
    assert.ok(at[0] >= 140 && at[0] < 400, `first after the initial delay: ${at[0]}`);
    assert.ok(at[1] - at[0] >= 35 && at[2] - at[1] >= 35, `messageDelay between records: ${at.join(', ')}`);
    assert.ok(at[3] - at[2] >= 330, `next batch = messageDelay + delay after the last record: ${at[3] - at[2]}`);
    assert.deepEqual(sink.sent.map((s) => s.message.key).slice(0, 3).map((k) => Number(k) - Number(sink.sent[0].message.key)), [0, 1, 2], 'incrementing keys');
    assert.equal(run.stats[0].sent, at.length);
  });

  it('without delay a batch runs once and the run ends by itself; stop() ends a run early', async () => {
    const once = new MemorySink();
    await new GeneratorRun([{ stream: stream({ size: 4, initialDelayMs: 1, messageDelayMs: 1 }), destination: 'd', sink: once, encoder: jsonEncoder() }]).run();
    assert.equal(once.sent.length, 4);
    const forever = new MemorySink();
    const run = new GeneratorRun([{ stream: stream({ size: 1000, initialDelayMs: 1, messageDelayMs: 5, delayMs: 1 }), destination: 'd', sink: forever, encoder: jsonEncoder() }]);
    const done = run.run();
    await new Promise((r) => setTimeout(r, 200));
    run.stop();
    await done;
    const count = forever.sent.length;
    assert.ok(count > 5 && count < 100, `${count}`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(forever.sent.length, count, 'nothing after stop');
  });
});

describe('sr generate --dry-run', () => {
  it('the same seed gives the same records; another seed others; an unknown expression fails naming its field', async () => {
    const anomaly = sampleFiles.find((f) => f.endsWith('anomaly-detection__data-generator.yaml'))!;
    const records = async (seed: string): Promise<string[]> => {
      const { stdout } = await run(process.execPath, [SR, 'generate', '-f', anomaly, '--dry-run', '--seed', seed, '--duration', '2500ms', '--quiet']);
      return stdout.trim().split('\n');
    };
    const [a, b, c] = await Promise.all([records('42'), records('42'), records('43')]);
    // Two streams: 1 record a second and 10 a second after 1 s; sorted, as the two interleave by timing.
    assert.ok(a.length >= 8, `${a.length} records`);
    const n = Math.min(a.length, b.length) - 2;
    const common = (x: string[], y: string[]): number => x.filter((r) => y.includes(r)).length;
    assert.ok(common(a, b) >= n, `seed 42 twice: ${common(a, b)} of ${n} records equal`);
    assert.ok(common(a, c) < n / 2, `seed 43 differs: ${common(a, c)} equal`);
    for (const line of a) {
      const { destination, value } = JSON.parse(line) as { destination: string; value: Record<string, string> };
      assert.equal(destination, 'card-authorizations');
      assert.deepEqual(Object.keys(value), ['card_number', 'card_type', 'card_expiry', 'name']);
    }

    const dir = tempDir('sr-generate-');
    try {
      const bad = join(dir.path, 'bad.yaml');
      writeFileSync(bad, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: g}\ndata:\n  application.yaml: |-\n    stream:\n      data:\n        generator:\n          streams:\n            - streamName: s\n              destination: {name: s}\n              avroSchema: |-\n                {"type": "record", "name": "R", "fields": [{"name": "who", "type": "string", "doc": "#{harry_potter.spell}"}]}\n`);
      await assert.rejects(run(process.execPath, [SR, 'generate', '-f', bad, '--dry-run']), (e: Error & { stderr?: string }) => /stream s\.who: unknown Faker expression #\{harry_potter\.spell\}/.test(e.stderr ?? ''));
    } finally {
      dir.remove();
    }
  });
});
