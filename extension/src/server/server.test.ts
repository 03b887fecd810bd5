// The language server over stdio, spoken to with the LSP protocol as an editor would.
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  CodeAction,
  CompletionItem,
  createProtocolConnection,
  Diagnostic,
  Hover,
  Location,
  ProtocolConnection,
  PublishDiagnosticsParams,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { SRP_ATTRIBUTES } from '../../../crds/attributes';
import { schemaFor } from '../../../crds/schema';
import { checkJsonata } from '../../../crds/expressions/jsonata';
import { parseDuration } from '../../../crds/expressions/duration';

const STREAMS_FILE = `apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: ClusterStream
metadata:
  name: cs-orders
spec:
  name: orders
  storage:
    server:
      url: localhost:9092
      protocol: kafka
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata:
  name: orders
spec:
  name: orders
  protocol: kafka
  storage:
    clusterStream: cs-orders
`;

const PROCESSOR = `apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata:
  name: enrich
spec:
  type: SRP
  inputs:
    - name: orders
  outputs:
    - name: enriched-orders
  attributes:
    srp.window: 5x
    srp.jsonata.expression: '{"total": price * }'
    srp.lateEventMode: SIDE_CHANNEL
`;

describe('language server over stdio', () => {
  let server: ChildProcess;
  let connection: ProtocolConnection;
  let workspace: string;
  const diagnostics = new Map<string, PublishDiagnosticsParams[]>();
  const waiters: (() => void)[] = [];

  const processorUri = (): string => pathToFileURL(join(workspace, 'processor.yaml')).toString();
  const streamsUri = (): string => pathToFileURL(join(workspace, 'streams.yaml')).toString();

  async function diagnosticsFor(uri: string, version: number): Promise<Diagnostic[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const latest = diagnostics.get(uri)?.filter((d) => d.version === version).at(-1);
      if (latest) return latest.diagnostics;
      if (Date.now() > deadline) throw new Error(`no diagnostics for ${uri} v${version}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  before(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'sr-lsp-'));
    writeFileSync(join(workspace, 'streams.yaml'), STREAMS_FILE);
    writeFileSync(join(workspace, 'processor.yaml'), PROCESSOR);
    server = spawn(process.execPath, [join(__dirname, 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
    assert.ok(server.stdout && server.stdin);
    connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
    connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) => {
      diagnostics.set(params.uri, [...(diagnostics.get(params.uri) ?? []), params]);
      waiters.splice(0).forEach((w) => w());
    });
    connection.listen();
    const result = await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(workspace).toString(),
      workspaceFolders: [{ uri: pathToFileURL(workspace).toString(), name: 'ws' }],
      capabilities: {},
    });
    assert.ok((result as { capabilities: { hoverProvider?: boolean } }).capabilities.hoverProvider);
    await connection.sendNotification('initialized', {});
    await connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri: processorUri(), languageId: 'yaml', version: 1, text: PROCESSOR },
    });
  });

  after(() => {
    connection?.dispose();
    server?.kill();
    rmSync(workspace, { recursive: true, force: true });
  });

  const position = (text: string, needle: string, delta = 0): { line: number; character: number } => {
    const document = TextDocument.create('x', 'yaml', 1, text);
    const index = text.indexOf(needle);
    assert.ok(index >= 0, `${needle} not in text`);
    return document.positionAt(index + delta);
  };

  it('reports the API server\'s errors at the exact character of duration and expression problems', async () => {
    const found = await diagnosticsFor(processorUri(), 1);
    const document = TextDocument.create('x', 'yaml', 1, PROCESSOR);
    const textOf = (d: Diagnostic): string => document.getText(d.range);

    const duration = parseDuration('5x');
    assert.equal(duration.ok, false);
    const window = found.find((d) => d.message.includes('srp.window') && d.severity === 1);
    assert.ok(window, JSON.stringify(found, null, 1));
    if (!duration.ok) {
      assert.deepEqual(window.range.start, position(PROCESSOR, 'srp.window: 5x', 'srp.window: '.length + duration.offset));
    }

    const expression = '{"total": price * }';
    const jsonata = checkJsonata(expression);
    assert.equal(jsonata.ok, false);
    const jsonataDiagnostic = found.find((d) => d.message.includes('srp.jsonata.expression'));
    assert.ok(jsonataDiagnostic, JSON.stringify(found, null, 1));
    if (!jsonata.ok) {
      // The value starts after the opening quote.
      const expected = position(PROCESSOR, `'${expression}'`, 1 + Math.min(jsonata.offset, expression.length - 1));
      assert.deepEqual(jsonataDiagnostic.range.start, expected);
      assert.equal(textOf(jsonataDiagnostic).length, 1);
    }
    assert.ok(!found.some((d) => d.message.includes('srp.lateEventMode')), 'a valid value is not flagged');
  });

  it('plans FSQL statements against the Streams of the file: an unknown column is flagged on its character in inlineQuery', async () => {
    const query = 'INSERT INTO [[STREAM:averages]] SELECT sensr FROM [[STREAM:readings]]';
    const text = `apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: readings }
spec:
  name: readings
  protocol: kafka
  dataSchemaContext:
    schema:
      name: Readings
      namespace: demo
      fields: [{ name: sensor, type: string }, { name: value, type: double }]
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Stream
metadata: { name: averages }
spec:
  name: averages
  protocol: kafka
  dataSchemaContext:
    schema: { name: Averages, namespace: demo, fields: [{ name: sensor, type: string }] }
---
apiVersion: streaming.tanzu.vmware.com/v1alpha1
kind: Processor
metadata: { name: averages }
spec:
  type: FSQL
  inlineQuery:
    - "${query}"
`;
    const uri = pathToFileURL(join(workspace, 'sql.yaml')).toString();
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text } });
    const found = await diagnosticsFor(uri, 1);
    const unknown = found.find((d) => d.message.includes("unknown column 'sensr'"));
    assert.ok(unknown, JSON.stringify(found, null, 1));
    assert.match(unknown.message, /spec\.inlineQuery\[0\]: .*statement 1, line 1, column 40/);
    assert.deepEqual(unknown.range.start, position(text, 'sensr FROM'));
    // The same statement with a column the Stream has: nothing to say about the query.
    const fixed = text.replace('SELECT sensr', 'SELECT sensor');
    await connection.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: fixed }] });
    const after = await diagnosticsFor(uri, 2);
    assert.ok(!after.some((d) => d.message.includes('inlineQuery')), JSON.stringify(after, null, 1));
    // Closed (it is not on disk), it leaves the workspace the other tests see.
    await connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  });

  it('flags an output naming no Stream in the workspace and offers a quick fix creating it', async () => {
    const found = await diagnosticsFor(processorUri(), 1);
    const missing = found.filter((d) => d.code === 'missing-stream');
    assert.equal(missing.length, 1, JSON.stringify(found, null, 1));
    const [diagnostic] = missing;
    assert.ok(diagnostic);
    assert.deepEqual(diagnostic.range.start, position(PROCESSOR, 'enriched-orders'));
    const actions = (await connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri: processorUri() },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic] },
    })) as CodeAction[];
    const fix = actions.find((a) => a.title.includes('enriched-orders'));
    assert.ok(fix?.edit?.changes);
    const edits = fix.edit.changes[processorUri()];
    assert.equal(edits?.length, 1);
    const fixed = TextDocument.applyEdits(TextDocument.create(processorUri(), 'yaml', 1, PROCESSOR), edits ?? []);
    assert.match(fixed, /\n---\napiVersion: streaming.tanzu.vmware.com\/v1alpha1\nkind: Stream\nmetadata:\n {2}name: enriched-orders\n/);

    // Applying the fix clears the warning.
    await connection.sendNotification('textDocument/didChange', {
      textDocument: { uri: processorUri(), version: 2 },
      contentChanges: [{ text: fixed }],
    });
    const after = await diagnosticsFor(processorUri(), 2);
    assert.equal(after.filter((d) => d.code === 'missing-stream').length, 0, JSON.stringify(after, null, 1));
    const errors = (list: Diagnostic[]): number => list.filter((d) => d.severity === 1).length;
    assert.equal(errors(after), errors(found), 'the created Stream is itself valid');
    await connection.sendNotification('textDocument/didChange', {
      textDocument: { uri: processorUri(), version: 3 },
      contentChanges: [{ text: PROCESSOR }],
    });
    await diagnosticsFor(processorUri(), 3);
  });

  it('completes every srp.* attribute, enum values, kinds and fields', async () => {
    let version = 10;
    const complete = async (text: string, at: { line: number; character: number }): Promise<CompletionItem[]> => {
      await connection.sendNotification('textDocument/didChange', {
        textDocument: { uri: processorUri(), version: ++version },
        contentChanges: [{ text }],
      });
      const result = (await connection.sendRequest('textDocument/completion', {
        textDocument: { uri: processorUri() },
        position: at,
      })) as CompletionItem[];
      return result;
    };
    const attributesText = PROCESSOR.replace('    srp.window: 5x\n', '    srp.window: 5x\n    \n');
    const attributeItems = await complete(attributesText, position(attributesText, '    \n', 4));
    const labels = attributeItems.map((i) => i.label);
    for (const attribute of SRP_ATTRIBUTES) {
      if (attribute.name === 'srp.window' || attribute.name === 'srp.jsonata.expression' || attribute.name === 'srp.lateEventMode') continue;
      assert.ok(labels.includes(attribute.name), `missing ${attribute.name}`);
    }
    assert.ok(!labels.includes('srp.window'), 'present keys are not proposed again');

    const enumText = PROCESSOR.replace('srp.lateEventMode: SIDE_CHANNEL', 'srp.lateEventMode: ');
    const enumItems = await complete(enumText, position(enumText, 'srp.lateEventMode: ', 'srp.lateEventMode: '.length));
    assert.deepEqual(enumItems.map((i) => i.label).sort(), ['DROP', 'SIDE_CHANNEL', 'UPSERT']);

    const kindText = PROCESSOR.replace('kind: Processor', 'kind: ');
    const kindItems = await complete(kindText, position(kindText, 'kind: ', 6));
    assert.deepEqual(kindItems.map((i) => i.label).sort(), ['ClusterStream', 'Processor', 'Stream']);

    const specText = PROCESSOR.replace('  type: SRP\n', '  type: SRP\n  \n');
    const specItems = (await complete(specText, position(specText, '  type: SRP\n  \n', '  type: SRP\n  '.length))).map((i) => i.label);
    for (const field of ['replicas', 'template', 'inlineQuery']) assert.ok(specItems.includes(field), `spec.${field} proposed`);
    assert.ok(!specItems.includes('type') && !specItems.includes('inputs'), 'present fields are not proposed again');

    const inputText = PROCESSOR.replace('    - name: orders', '    - name: ');
    const inputItems = await complete(inputText, position(inputText, '    - name: \n', '    - name: '.length));
    assert.ok(inputItems.some((i) => i.label === 'orders'), 'Stream names from other files are proposed');

    await connection.sendNotification('textDocument/didChange', {
      textDocument: { uri: processorUri(), version: ++version },
      contentChanges: [{ text: PROCESSOR }],
    });
  });

  it('hovers with attribute and field descriptions from crds/', async () => {
    const hover = (await connection.sendRequest('textDocument/hover', {
      textDocument: { uri: processorUri() },
      position: position(PROCESSOR, 'srp.window', 3),
    })) as Hover;
    const window = SRP_ATTRIBUTES.find((a) => a.name === 'srp.window');
    assert.ok(window);
    const value = typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
    assert.ok(value.includes(window.description.slice(0, 40)), value);

    const inputsHover = (await connection.sendRequest('textDocument/hover', {
      textDocument: { uri: processorUri() },
      position: position(PROCESSOR, 'inputs:', 2),
    })) as Hover;
    const inputsValue = typeof inputsHover.contents === 'object' && 'value' in inputsHover.contents ? inputsHover.contents.value : '';
    assert.match(inputsValue, /spec\.inputs/);
    const description = schemaFor('Processor').properties?.spec?.properties?.inputs?.description;
    assert.ok(description, 'crds/processor.yaml documents spec.inputs');
    assert.ok(inputsValue.includes(description), `hover shows the CRD description: ${inputsValue}`);
  });

  it('goes to the Stream of an input, to the ClusterStream of a Stream, and finds references', async () => {
    const definition = (await connection.sendRequest('textDocument/definition', {
      textDocument: { uri: processorUri() },
      position: position(PROCESSOR, '- name: orders', 10),
    })) as Location[];
    assert.equal(definition.length, 1);
    assert.equal(definition[0]?.uri, streamsUri());
    assert.deepEqual(definition[0]?.range.start, position(STREAMS_FILE, 'name: orders\nspec', 6));

    await connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri: streamsUri(), languageId: 'yaml', version: 1, text: STREAMS_FILE },
    });
    const toCluster = (await connection.sendRequest('textDocument/definition', {
      textDocument: { uri: streamsUri() },
      position: position(STREAMS_FILE, 'clusterStream: cs-orders', 'clusterStream: '.length + 2),
    })) as Location[];
    assert.equal(toCluster[0]?.uri, streamsUri());
    assert.deepEqual(toCluster[0]?.range.start, position(STREAMS_FILE, 'cs-orders'));

    const references = (await connection.sendRequest('textDocument/references', {
      textDocument: { uri: streamsUri() },
      position: position(STREAMS_FILE, 'name: orders\nspec', 7),
      context: { includeDeclaration: false },
    })) as Location[];
    assert.deepEqual(references.map((r) => r.uri), [processorUri()]);
    assert.deepEqual(references[0]?.range.start, position(PROCESSOR, 'orders'));
  });

  it('serves the workspace resources for the offline topology', async () => {
    const resources = (await connection.sendRequest('streamingRuntime/workspaceResources')) as { kind: string; name: string; uri: string; nameStart?: { line: number } }[];
    const names = resources.map((r) => `${r.kind}/${r.name}`).sort();
    assert.deepEqual(names, ['ClusterStream/cs-orders', 'Processor/enrich', 'Stream/orders']);
    assert.equal(resources.find((r) => r.name === 'enrich')?.nameStart?.line, 3);
  });

  it('survives garbage', async () => {
    await connection.sendNotification('textDocument/didChange', {
      textDocument: { uri: processorUri(), version: 20 },
      contentChanges: [{ text: 'kind: Processor\napiVersion: streaming.tanzu.vmware.com/v1alpha1\nspec: [\n\t: -\n---\n- - - :' }],
    });
    const found = await diagnosticsFor(processorUri(), 20);
    assert.ok(found.length > 0);
    const items = await connection.sendRequest('textDocument/completion', { textDocument: { uri: processorUri() }, position: { line: 2, character: 3 } });
    assert.ok(Array.isArray(items));
  });
});
