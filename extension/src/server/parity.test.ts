// Parity: the editor's diagnostics are the API server's answers. Every sample of the original project, plus broken
// variants of each (unknown fields, bad values, bad SQL, bad metadata: names, labels, annotations), goes to a real
// `sr apiserver` as a dry-run create — fieldValidation=Strict for unknown fields, then Ignore for the 422 causes and
// the warnings — and the same file goes through the language service. Per document, the sets must be equal:
// server "unknown field" ⇔ editor unknown-field errors, every 422 cause `field: message` ⇔ an editor error with that
// text, every Warning header ⇔ an editor warning. Valid documents are then created for real, so a Processor's SQL is
// checked against stored Streams on the server as against the file's Streams in the editor.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DiagnosticSeverity } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parseAllDocuments, stringify } from 'yaml';
import { ApiClient, isNamespaced, KindName, KINDS, KubeObject, resourcePath } from '../cluster/api-client';
import { loadKubeconfig } from '../cluster/kubeconfig';
import { parseYamlFile } from '../model/yaml-documents';
import { startTestCluster, TestCluster } from '../test/integration/cluster';
import { LanguageService, MISSING_STREAM_CODE } from './language-service';
import { crdRules } from './rules';

const SAMPLES_DIR = process.env.SR_SAMPLES_DIR ?? '/work/shared/sr-samples';

interface Findings {
  unknown: string[];
  errors: string[];
  warnings: string[];
}

/** One corpus entry: a file of our documents; `target` is the document whose findings are compared (all when unset). */
interface Case {
  name: string;
  documents: KubeObject[];
  target?: number;
}

function samples(): Case[] {
  const cases: Case[] = [];
  const files = readdirSync(SAMPLES_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
  files.forEach((file, i) => {
    const documents: KubeObject[] = [];
    for (const doc of parseAllDocuments(readFileSync(join(SAMPLES_DIR, file), 'utf8'))) {
      const value = doc.toJS() as KubeObject | null;
      if (!value || typeof value.apiVersion !== 'string' || !value.apiVersion.startsWith('streaming.tanzu.vmware.com/')) continue;
      if (!(KINDS as readonly string[]).includes(String(value.kind))) continue;
      // A namespace per file: samples reuse names.
      if (value.metadata && isNamespaced(value.kind as KindName)) value.metadata.namespace = `sample-${i}`;
      documents.push(value);
    }
    if (documents.length > 0) cases.push({ name: file, documents });
  });
  return cases;
}

/** Broken variants of a sample, each breaking one document (renamed, so it is a create next to the stored original). */
function variants(sample: Case, withGeneric: boolean): Case[] {
  const out: Case[] = [];
  const vary = (label: string, index: number, change: (o: KubeObject) => void): void => {
    const documents = structuredClone(sample.documents);
    const target = documents[index];
    if (!target?.metadata) return;
    target.metadata.name = `${String(target.metadata.name)}-v`;
    change(target);
    out.push({ name: `${sample.name} [${label} in ${String(target.kind)} ${String(sample.documents[index]?.metadata?.name)}]`, documents, target: index });
  };
  const spec = (o: KubeObject): Record<string, unknown> => (o.spec ??= {}) as Record<string, unknown>;
  const generic = (index: number): void => {
    vary('unknown fields', index, (o) => {
      spec(o).partitionCuont = 3;
      (o.metadata as Record<string, unknown>).labelz = { a: 'b' };
    });
    vary('invalid name', index, (o) => {
      if (o.metadata) o.metadata.name = 'Bad_Name.';
    });
    vary('invalid labels, annotations and finalizers', index, (o) => {
      if (!o.metadata) return;
      o.metadata.labels = { 'bad key!': 'ok', good: 'x'.repeat(64), 'example.com/fine': 'not ok!' };
      o.metadata.annotations = { '/no-prefix': 'v' };
      o.metadata.finalizers = ['example.com/ok', 'not a finalizer'];
    });
    vary('wrong types', index, (o) => {
      spec(o).name = 42;
    });
  };
  const firstOfKind = new Set(KINDS.map((kind) => sample.documents.findIndex((d) => d.kind === kind)));
  sample.documents.forEach((document, index) => {
    // Enough to cover every rule without making the run long: the rules all kinds share on the first document of
    // each kind in some samples, each kind's own rules on its first document, the SQL on every FSQL Processor.
    if (withGeneric && firstOfKind.has(index)) generic(index);
    if (!firstOfKind.has(index) && !Array.isArray(spec(document).inlineQuery)) return;
    if (document.kind === 'Stream') vary('bad protocol', index, (o) => {
      spec(o).protocol = 'carrier-pigeon';
    });
    if (document.kind === 'ClusterStream') vary('bad server', index, (o) => {
      spec(o).storage = { server: { url: 'kafka:notaport', protocol: 'smtp' } };
    });
    if (document.kind === 'Processor') {
      vary('bad attribute', index, (o) => {
        spec(o).attributes = { ...((spec(o).attributes as object | undefined) ?? {}), 'srp.window': '5x', 'srp.lateness': '-1s' };
      });
      const query = spec(document).inlineQuery;
      if (Array.isArray(query) && typeof query[0] === 'string') {
        vary('SQL syntax error', index, (o) => {
          spec(o).inlineQuery = [(query[0] as string).replace(/SELECT/i, 'SELEKT'), ...query.slice(1)];
        });
        vary('SQL unknown column', index, (o) => {
          spec(o).inlineQuery = [(query[0] as string).replace(/SELECT\s+/i, 'SELECT no_such_column, '), ...query.slice(1)];
        });
      }
    }
  });
  return out;
}

function fileText(documents: KubeObject[]): string {
  return documents.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** The language service's findings for each document of the file. */
function editorFindings(text: string): Findings[] {
  const service = new LanguageService(crdRules);
  const document = TextDocument.create('file:///parity/case.yaml', 'yaml', 1, text);
  const parsed = parseYamlFile(text);
  const findings: Findings[] = parsed.documents.map(() => ({ unknown: [], errors: [], warnings: [] }));
  for (const diagnostic of service.diagnostics(document)) {
    if (diagnostic.code === MISSING_STREAM_CODE) continue; // workspace advice, the server auto-provisions
    const offset = document.offsetAt(diagnostic.range.start);
    const index = parsed.documents.findIndex((d) => offset >= d.range.start && offset < Math.max(d.range.end, d.range.start + 1));
    const entry = findings[index === -1 ? 0 : index];
    if (!entry) continue;
    const unknown = /^(.*): (unknown field ".*")$/.exec(diagnostic.message);
    if (diagnostic.severity === DiagnosticSeverity.Error && unknown?.[2] && unknown[1] && unknown[2] === `unknown field ${JSON.stringify(unknown[1])}`) entry.unknown.push(unknown[2]);
    else if (diagnostic.severity === DiagnosticSeverity.Error) entry.errors.push(diagnostic.message);
    else entry.warnings.push(diagnostic.message);
  }
  return findings;
}

describe('editor diagnostics equal the API server\'s answers', () => {
  let cluster: TestCluster;
  let api: ApiClient;
  const corpus = samples();

  before(async () => {
    assert.ok(corpus.length >= 30, `only ${corpus.length} samples in ${SAMPLES_DIR}`);
    cluster = await startTestCluster();
    api = new ApiClient(loadKubeconfig(cluster.kubeconfig));
  });

  after(async () => {
    api?.dispose();
    await cluster?.stop();
  });

  /** Dry-run create: Strict names unknown fields (400); Ignore gives the 422 causes and the warnings of the rest. */
  async function serverFindings(object: KubeObject): Promise<Findings> {
    const kind = object.kind as KindName;
    const path = resourcePath(kind, isNamespaced(kind) ? object.metadata?.namespace : undefined);
    const findings: Findings = { unknown: [], errors: [], warnings: [] };
    const [strict, rest] = await Promise.all([
      api.request('POST', `${path}?dryRun=All&fieldValidation=Strict`, object),
      api.request('POST', `${path}?dryRun=All&fieldValidation=Ignore`, object),
    ]);
    const decoding = /^strict decoding error: (.*)$/.exec(strict.message);
    if (strict.status === 400 && decoding?.[1]) findings.unknown.push(...decoding[1].split(/, (?=unknown field ")/));
    else if (strict.status === 400) throw new Error(`400 that is not a strict decoding error: ${strict.message}`);
    if (rest.status === 422) {
      const causes = ((rest.body as { details?: { causes?: { field?: string; message?: string }[] } }).details?.causes ?? []);
      findings.errors.push(...causes.map((c) => `${c.field ?? ''}: ${c.message ?? ''}`));
    } else if (rest.status !== 201 && rest.status !== 200) {
      throw new Error(`dry run answered ${rest.status}: ${rest.message}`);
    }
    findings.warnings.push(...rest.warnings);
    return findings;
  }

  it('for every sample and its broken variants (unknown fields, values, SQL, metadata)', async () => {
    const mismatches: string[] = [];
    let compared = 0;
    let causes = 0;
    const order = (o: KubeObject): number => KINDS.indexOf(o.kind as KindName);
    for (const [sampleIndex, sample] of corpus.entries()) {
      const created: KubeObject[] = [];
      try {
        // The sample first (its valid documents are stored), then its variants, several at a time (dry runs only).
        const compare = async (entry: Case): Promise<void> => {
          const editor = editorFindings(fileText(entry.documents));
          const indexes = entry.target === undefined ? entry.documents.map((_, i) => i) : [entry.target];
          // Server order: what a Processor names must be stored before it is checked.
          indexes.sort((a, b) => order(entry.documents[a] as KubeObject) - order(entry.documents[b] as KubeObject));
          for (const index of indexes) {
            const object = entry.documents[index] as KubeObject;
            const server = await serverFindings(object);
            const mine = editor[index] ?? { unknown: [], errors: [], warnings: [] };
            compared++;
            causes += server.unknown.length + server.errors.length;
            // kube-apiserver sends a create's warnings only once it validated (none with a 422); the editor shows both.
            const valid = server.unknown.length === 0 && server.errors.length === 0;
            for (const aspect of valid ? (['unknown', 'errors', 'warnings'] as const) : (['unknown', 'errors'] as const)) {
              const want = [...new Set(server[aspect])].sort();
              const got = [...new Set(mine[aspect])].sort();
              if (JSON.stringify(want) !== JSON.stringify(got)) {
                mismatches.push(`${entry.name}, ${String(object.kind)} ${String(object.metadata?.name)}, ${aspect}:\n  server: ${JSON.stringify(want)}\n  editor: ${JSON.stringify(got)}`);
              }
            }
            if (entry === sample && valid) {
              const kind = object.kind as KindName;
              const stored = await api.request('POST', `${resourcePath(kind, isNamespaced(kind) ? object.metadata?.namespace : undefined)}?fieldValidation=Ignore`, object);
              if (stored.status === 201) created.push(object);
            }
          }
        };
        await compare(sample);
        const pending = variants(sample, sampleIndex % 4 === 0);
        await Promise.all(Array.from({ length: 6 }, async () => {
          for (let entry = pending.shift(); entry; entry = pending.shift()) await compare(entry);
        }));
      } finally {
        // ClusterStreams are cluster-wide and samples reuse their names.
        for (const object of created.filter((o) => o.kind === 'ClusterStream')) {
          await api.request('DELETE', resourcePath('ClusterStream', undefined, String(object.metadata?.name)));
        }
      }
    }
    console.log(`parity: ${compared} documents compared, ${causes} server findings (unknown fields + 422 causes)`);
    assert.ok(causes > 150, `the corpus produced only ${causes} server findings`);
    assert.deepEqual(mismatches, [], `${mismatches.length} mismatches:\n${mismatches.join('\n')}`);
  });
});
