// Cross-check against Flink's real grammar: every statement of the corpus that our parser accepts must also be
// accepted by dt-sql-parser's FlinkSQL ANTLR grammar, so our subset never drifts from what Flink would run. dt-sql-parser
// publishes extensionless ESM-style imports that plain Node 20 refuses, so it is bundled to CommonJS first.
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { parseStatement } from './parser';
import {
  completeDdl, DT_GRAMMAR_GAPS, EXTRA_STATEMENTS, loadFsqlSamples, sampleSqlSchemas, toFlinkText, UNSUPPORTED_FLINK,
} from './corpus.fixture';

interface FlinkError {
  startLine: number;
  startColumn: number;
  message: string;
}

interface FlinkParser {
  validate(sql: string): FlinkError[];
}

let flink: FlinkParser;

function loadFlinkGrammar(): FlinkParser {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sr-dt-sql-parser-'));
  try {
    const root = path.dirname(require.resolve('dt-sql-parser/package.json'));
    const outfile = path.join(dir, 'flink.cjs');
    buildSync({
      entryPoints: [path.join(root, 'dist', 'parser', 'flink', 'index.js')],
      bundle: true, platform: 'node', format: 'cjs', outfile, logLevel: 'error',
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(outfile) as { FlinkSQL: new () => FlinkParser };
    return new mod.FlinkSQL();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function bothAccept(ours: string, theirs: string, label: string): void {
  const r = parseStatement(ours);
  assert.deepEqual(r.diagnostics, [], `our parser rejects ${label}`);
  assert.deepEqual(flink.validate(theirs), [], `Flink's grammar rejects ${label}: ${theirs}`);
}

describe("cross-check with Flink's grammar (dt-sql-parser FlinkSQL)", () => {
  before(() => {
    flink = loadFlinkGrammar();
  });

  it('the harness sees errors: malformed SQL is rejected by both', () => {
    for (const text of ['SELECT FROM', 'SELECT a FROM T WHERE', 'INSERT INTO T', 'SELECT a FROM T WHERE a = ']) {
      assert.notDeepEqual(flink.validate(text), [], text);
      assert.equal(parseStatement(text).statement, undefined, text);
    }
  });

  it('every FSQL sample statement (placeholders as table names)', () => {
    const samples = loadFsqlSamples();
    assert.ok(samples.statements.length >= 20);
    for (const s of samples.statements) bothAccept(s.text, toFlinkText(s.text), `${s.file} ${s.processor} ${s.where}`);
  });

  it('every inline sql schema of the samples (completed with a WITH clause, as the original did)', () => {
    const schemas = sampleSqlSchemas(loadFsqlSamples());
    assert.equal(schemas.length, 4);
    for (const s of schemas) bothAccept(s.text, completeDdl(s.text), `${s.file} ${s.stream}`);
  });

  it('every corpus statement covering the supported constructs', () => {
    for (const text of EXTRA_STATEMENTS) bothAccept(text, text, JSON.stringify(text));
  });

  it('valid Flink SQL outside the subset: Flink accepts, we answer "not supported"', () => {
    for (const u of UNSUPPORTED_FLINK) {
      assert.deepEqual(flink.validate(u.text), [], u.text);
      const r = parseStatement(u.text);
      assert.equal(r.statement, undefined, u.text);
      assert.match(r.diagnostics[0].message, /not supported/, u.text);
    }
  });

  it("known gaps of the grammar: ours accepts (the AST contract asks for them), dt-sql-parser 4.5.1 does not", () => {
    for (const gap of DT_GRAMMAR_GAPS) {
      assert.deepEqual(parseStatement(gap.text).diagnostics, [], gap.text);
      assert.notDeepEqual(flink.validate(gap.text), [], `dt-sql-parser now accepts ${gap.text} (${gap.why}): move it into EXTRA_STATEMENTS`);
    }
  });
});
