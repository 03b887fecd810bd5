// Per-message cost of the stateless functions (SpEL transform of tutorial 5, JSONata filter, output headers,
// Spring partition selection) against the same work hand-written in plain TypeScript, measured in the same run.

import type { Message } from '../processor/message';
import { PartitionSelector } from '../processor/partition/selector';
import { javaStringHashCode } from '../processor/partition/java-hash';
import { SpelTransform } from '../processor/transform/spel-transform';
import { JsonataFilter } from '../processor/transform/jsonata';
import { OutputHeaders } from '../processor/transform/output-headers';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200_000);
const TEAMS = ['red', 'blue', 'green'];

function generate(): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const user = { id: `u${i}`, fullName: `User ${i}`, team: TEAMS[i % 3], score: i % 100, score_time: 1_700_000_000_000 + i };
    out.push({ payload: Buffer.from(JSON.stringify(user)), headers: { contentType: 'application/json', eventtime: String(user.score_time) } });
  }
  return out;
}

function rate(run: () => void): number {
  run(); // warm-up
  const started = process.hrtime.bigint();
  run();
  return MESSAGES / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function rateAsync(run: () => Promise<void>): Promise<number> {
  await run();
  const started = process.hrtime.bigint();
  await run();
  return MESSAGES / (Number(process.hrtime.bigint() - started) / 1e9);
}

interface User {
  team: string;
  score: number;
  fullName: string;
}

async function main(): Promise<void> {
  const messages = generate();
  const results: Record<string, { ours: number; raw: number; ratio: number }> = {};
  const record = (name: string, ours: number, raw: number): void => {
    results[name] = { ours: Math.round(ours), raw: Math.round(raw), ratio: +(ours / raw).toFixed(3) };
  };

  const spel = new SpelTransform(`'Team:' + #jsonPath(payload, '$.team') + ', Score:' + #jsonPath(payload, '$.score')`);
  let sink = 0;
  record(
    'spel transform (tutorial 5)',
    rate(() => {
      for (const m of messages) {
        const outcome = spel.apply(m);
        if (outcome.kind === 'message') sink += outcome.message.payload.length;
      }
    }),
    rate(() => {
      for (const m of messages) {
        const user = JSON.parse(m.payload.toString()) as User;
        sink += Buffer.from(`Team:${user.team}, Score:${user.score}`).length;
      }
    }),
  );

  const filter = new JsonataFilter('score >= 50');
  record(
    'jsonata filter',
    await rateAsync(async () => {
      for (const m of messages) if ((await filter.apply(m)).kind === 'message') sink++;
    }),
    await rateAsync(async () => {
      for (const m of messages) if ((await Promise.resolve(JSON.parse(m.payload.toString()) as User)).score >= 50) sink++;
    }),
  );

  const headers = new OutputHeaders('user=payload.fullName;wm=header.eventtime');
  record(
    'output headers',
    rate(() => {
      for (const m of messages) sink += Object.keys(headers.apply(m).headers).length;
    }),
    rate(() => {
      for (const m of messages) {
        const user = JSON.parse(m.payload.toString()) as User;
        sink += Object.keys({ ...m.headers, user: user.fullName, wm: m.headers.eventtime }).length;
      }
    }),
  );

  const selector = new PartitionSelector({ keyExpression: 'payload.team', partitionCount: 3 });
  record(
    'partition by keyExpression payload.team',
    rate(() => {
      for (const m of messages) sink += selector.partitionOf(m);
    }),
    rate(() => {
      for (const m of messages) sink += Math.abs(javaStringHashCode((JSON.parse(m.payload.toString()) as User).team)) % 3;
    }),
  );

  console.log(JSON.stringify({ benchmark: 'functions-transforms', messages: MESSAGES, messagesPerSecond: results, sink: sink > 0 }, null, 2));
}

void main();
