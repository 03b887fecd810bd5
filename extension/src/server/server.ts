// The language server process: wires the LanguageService to an LSP connection (stdio or Node IPC, chosen by the
// command line as vscode-languageserver does) and keeps the workspace index fresh from open and on-disk files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createConnection,
  DidChangeWatchedFilesParams,
  FileChangeType,
  InitializeResult,
  ProposedFeatures,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { LanguageService } from './language-service';
import { crdRules } from './rules';

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);
const service = new LanguageService(crdRules);
/** Files of the workspace that are not open in the editor, as last read from disk. */
const onDisk = new Map<string, TextDocument>();

const MAX_FILES = 2000;
const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git', 'out', 'dist', '.sr', '.vscode-test']);

function isYaml(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

function documentFor(uri: string): TextDocument | undefined {
  return documents.get(uri) ?? onDisk.get(uri);
}

function readDiskDocument(uri: string): void {
  try {
    const path = fileURLToPath(uri);
    const text = readFileSync(path, 'utf8');
    const document = TextDocument.create(uri, 'yaml', Date.now(), text);
    onDisk.set(uri, document);
    if (!documents.get(uri)) service.parse(document);
  } catch {
    onDisk.delete(uri);
    if (!documents.get(uri)) service.index.remove(uri);
  }
}

function scanFolder(folder: string, budget: { left: number }): void {
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (budget.left <= 0) return;
    const path = join(folder, entry);
    let isDirectory = false;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      continue;
    }
    if (isDirectory) {
      if (!SKIPPED_DIRECTORIES.has(entry) && !entry.startsWith('.')) scanFolder(path, budget);
    } else if (isYaml(entry)) {
      budget.left--;
      readDiskDocument(pathToFileURL(path).toString());
    }
  }
}

let pending: NodeJS.Timeout | undefined;
/** Cross-document diagnostics change when any file changes: re-check every open document, coalesced. */
function validateOpenDocuments(): void {
  if (pending) clearTimeout(pending);
  pending = setTimeout(() => {
    pending = undefined;
    for (const document of documents.all()) publish(document);
  }, 50);
}

function publish(document: TextDocument): void {
  try {
    void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics: service.diagnostics(document) });
  } catch (error) {
    connection.console.error(`diagnostics failed for ${document.uri}: ${String(error)}`);
  }
}

connection.onInitialize((params): InitializeResult => {
  const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
  const budget = { left: MAX_FILES };
  for (const folder of folders) {
    if (folder.startsWith('file:')) scanFolder(fileURLToPath(folder), budget);
  }
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      completionProvider: { triggerCharacters: [':', ' ', '.'] },
      hoverProvider: true,
      definitionProvider: true,
      referencesProvider: true,
      codeActionProvider: { codeActionKinds: ['quickfix'] },
    },
    serverInfo: { name: 'streaming-runtime-yaml', version: '0.1.0' },
  };
});

documents.onDidChangeContent((event) => {
  service.parse(event.document);
  publish(event.document);
  validateOpenDocuments();
});

documents.onDidClose((event) => {
  service.forget(event.document.uri);
  void connection.sendDiagnostics({ uri: event.document.uri, diagnostics: [] });
  // Back to the on-disk content (or nothing, for an unsaved file).
  if (event.document.uri.startsWith('file:')) readDiskDocument(event.document.uri);
  else service.index.remove(event.document.uri);
  validateOpenDocuments();
});

connection.onDidChangeWatchedFiles((params: DidChangeWatchedFilesParams) => {
  for (const change of params.changes) {
    if (!isYaml(change.uri)) continue;
    if (change.type === FileChangeType.Deleted) {
      onDisk.delete(change.uri);
      if (!documents.get(change.uri)) service.index.remove(change.uri);
    } else {
      readDiskDocument(change.uri);
    }
  }
  validateOpenDocuments();
});

const guard = <T>(fallback: T, run: () => T): T => {
  try {
    return run();
  } catch (error) {
    connection.console.error(String(error instanceof Error ? error.stack : error));
    return fallback;
  }
};

connection.onCompletion((params) => {
  const document = documents.get(params.textDocument.uri);
  if (!document) return [];
  return guard([], () => service.completion(document, document.offsetAt(params.position)));
});

connection.onHover((params) => {
  const document = documents.get(params.textDocument.uri);
  if (!document) return null;
  return guard(null, () => service.hover(document, document.offsetAt(params.position)));
});

connection.onDefinition((params) => {
  const document = documents.get(params.textDocument.uri);
  if (!document) return [];
  return guard([], () => service.definition(document, document.offsetAt(params.position), documentFor));
});

connection.onReferences((params) => {
  const document = documents.get(params.textDocument.uri);
  if (!document) return [];
  return guard([], () =>
    service.references(document, document.offsetAt(params.position), params.context.includeDeclaration, documentFor),
  );
});

connection.onCodeAction((params) => {
  const document = documents.get(params.textDocument.uri);
  if (!document) return [];
  return guard([], () => service.codeActions(document, params.context.diagnostics));
});

/** The offline topology asks the server for what the workspace declares. */
connection.onRequest('streamingRuntime/workspaceResources', () =>
  guard([], () =>
    service.index.declarations().map((d) => ({
      uri: d.uri,
      kind: d.kind,
      name: d.name,
      namespace: d.namespace,
      value: d.value,
      nameStart: documentFor(d.uri)?.positionAt(d.nameRange.start),
    })),
  ),
);

documents.listen(connection);
connection.listen();
