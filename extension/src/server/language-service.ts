// Editor features for our YAML documents, independent of the LSP connection: diagnostics, completion, hover,
// definition, references and the "create the missing Stream" quick fix.
import {
  CodeAction,
  CodeActionKind,
  CompletionItem,
  CompletionItemKind,
  Diagnostic,
  DiagnosticSeverity,
  Hover,
  InsertTextFormat,
  Location,
  MarkupKind,
  Range,
  TextEdit,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { API_VERSION, type Protocol, type Stream } from '../../../crds/types';
import { completionContextAt } from '../model/completion-context';
import { pathAtOffset, rangeOfFieldPath } from '../model/ranges';
import { OpenApiSchema, schemaAt, typeLabel } from '../model/schema-walk';
import { Declaration, DEFAULT_NAMESPACE, Reference, WorkspaceIndex } from '../model/workspace-index';
import { OffsetRange, OUR_KINDS, OurKind, ParsedDocument, ParsedFile, parseYamlFile } from '../model/yaml-documents';
import { Rules } from './rules';

export const DIAGNOSTIC_SOURCE = 'streaming-runtime';
export const MISSING_STREAM_CODE = 'missing-stream';

export interface MissingStreamData {
  name: string;
  namespace: string;
}

export class LanguageService {
  private readonly parsed = new Map<string, { version: number; file: ParsedFile }>();

  constructor(
    private readonly rules: Rules,
    readonly index: WorkspaceIndex = new WorkspaceIndex(),
  ) {}

  /** Parses (once per version) and indexes an open document. */
  parse(document: TextDocument): ParsedFile {
    const cached = this.parsed.get(document.uri);
    if (cached && cached.version === document.version && cached.file.text === document.getText()) return cached.file;
    const file = parseYamlFile(document.getText());
    this.parsed.set(document.uri, { version: document.version, file });
    this.index.update(document.uri, file);
    return file;
  }

  forget(uri: string): void {
    this.parsed.delete(uri);
  }

  diagnostics(document: TextDocument): Diagnostic[] {
    const file = this.parse(document);
    const text = file.text;
    const range = (offsets: OffsetRange): Range => ({
      start: document.positionAt(offsets.start),
      end: document.positionAt(offsets.end),
    });
    const result: Diagnostic[] = [];
    const ours = file.documents.filter((d) => d.kind);
    if (ours.length === 0) return result;
    for (const parsed of file.documents) {
      for (const error of parsed.doc.errors) {
        result.push({
          range: range({ start: error.pos[0], end: Math.max(error.pos[1], error.pos[0] + 1) }),
          severity: DiagnosticSeverity.Error,
          source: DIAGNOSTIC_SOURCE,
          message: error.message.split('\n')[0] ?? error.message,
          code: 'yaml-syntax',
        });
      }
    }
    // FSQL statements are planned against the Streams declared in the same file (as the API server plans them against
    // the stored ones), so an unknown column shows on the inlineQuery line before anything is applied.
    const streams = new Map<string, Stream>();
    for (const parsed of ours) {
      if (parsed.kind !== 'Stream' || !parsed.value || typeof parsed.value !== 'object') continue;
      const stream = parsed.value as Stream;
      streams.set(`${stream.metadata?.namespace ?? 'default'}/${stream.metadata?.name ?? ''}`, stream);
    }
    const context = { stream: (namespace: string, name: string) => streams.get(`${namespace}/${name}`) };
    for (const parsed of ours) {
      if (parsed.doc.errors.length > 0 || !parsed.kind) continue;
      for (const issue of this.rules.validate(parsed.kind, parsed.value, context)) {
        result.push({
          range: range(rangeOfFieldPath(text, parsed.doc, issue.field, issue.offset)),
          severity: issue.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
          source: DIAGNOSTIC_SOURCE,
          message: `${issue.field}: ${issue.message}`,
          code: issue.type,
        });
      }
    }
    for (const reference of this.index.danglingStreamReferences(document.uri)) {
      const data: MissingStreamData = { name: reference.targetName, namespace: reference.targetNamespace };
      result.push({
        range: range(reference.range),
        severity: DiagnosticSeverity.Warning,
        source: DIAGNOSTIC_SOURCE,
        message: `${reference.field}: no Stream "${reference.targetName}" in namespace "${reference.targetNamespace}" is declared in the workspace`,
        code: MISSING_STREAM_CODE,
        data,
      });
    }
    return result;
  }

  completion(document: TextDocument, offset: number): CompletionItem[] {
    const file = this.parse(document);
    const parsed = documentAt(file, offset);
    const context = completionContextAt(file.text, offset);
    const replace = (_newText: string): Range => ({
      start: document.positionAt(context.prefixStart),
      end: document.positionAt(offset),
    });
    const kind = parsed?.kind ?? kindFromText(file.text, offset);
    const items: CompletionItem[] = [];
    const path = context.parentPath;

    if (context.position === 'value') {
      const key = context.key ?? '';
      if (path.length === 0 && key === 'kind') {
        for (const k of OUR_KINDS) items.push(valueItem(k, `${k} (${API_VERSION})`, replace(k)));
        return items;
      }
      if (path.length === 0 && key === 'apiVersion') {
        items.push(valueItem(API_VERSION, 'Streaming Runtime API group', replace(API_VERSION)));
        return items;
      }
      if (!kind) return items;
      if (kind === 'Processor' && path.join('.') === 'spec.attributes') {
        const attribute = this.rules.attributes().find((a) => a.name === key);
        for (const value of attribute?.values ?? []) items.push(valueItem(value, attribute?.name ?? '', replace(value)));
        return items;
      }
      if (kind === 'Processor' && (path.join('.') === 'spec.inputs.*' || path.join('.') === 'spec.outputs.*') && key === 'name') {
        const namespace = parsed?.namespace ?? DEFAULT_NAMESPACE;
        for (const d of this.index.declarations().filter((d) => d.kind === 'Stream' && d.namespace === namespace)) {
          items.push({ ...valueItem(d.name, `Stream in ${d.namespace}`, replace(d.name)), kind: CompletionItemKind.Reference });
        }
        return dedupe(items);
      }
      if (kind === 'Stream' && path.join('.') === 'spec.storage' && key === 'clusterStream') {
        for (const d of this.index.declarations().filter((d) => d.kind === 'ClusterStream')) {
          items.push({ ...valueItem(d.name, 'ClusterStream', replace(d.name)), kind: CompletionItemKind.Reference });
        }
        return dedupe(items);
      }
      const schema = this.schemaFor(kind, [...path, key]);
      for (const value of schema?.enum ?? []) {
        const text = String(value);
        items.push(valueItem(text, schema?.description ?? '', replace(text)));
      }
      if (schema?.type === 'boolean') {
        for (const text of ['true', 'false']) items.push(valueItem(text, 'boolean', replace(text)));
      }
      return items;
    }

    // Keys.
    const present = new Set(context.siblingKeys);
    if (path.length === 0) {
      const rootKeys: [string, string][] = [
        ['apiVersion', API_VERSION],
        ['kind', 'ClusterStream | Stream | Processor'],
        ['metadata', 'Object metadata: name, namespace, labels, annotations'],
        ['spec', 'The desired state'],
      ];
      for (const [key, detail] of rootKeys) {
        if (present.has(key)) continue;
        items.push(keyItem(key, detail, undefined, replace(key), key === 'metadata' || key === 'spec' ? 'object' : 'string'));
      }
      return items;
    }
    if (!kind) return items;
    if (path.length === 1 && path[0] === 'metadata') {
      for (const key of ['name', 'namespace', 'labels', 'annotations']) {
        if (present.has(key) || (key === 'namespace' && kind === 'ClusterStream')) continue;
        items.push(keyItem(key, 'metadata', undefined, replace(key), key === 'labels' || key === 'annotations' ? 'object' : 'string'));
      }
      return items;
    }
    if (kind === 'Processor' && path.join('.') === 'spec.attributes') {
      for (const attribute of this.rules.attributes()) {
        if (present.has(attribute.name)) continue;
        items.push({
          label: attribute.name,
          kind: CompletionItemKind.Property,
          detail: attribute.defaultValue !== undefined ? `default: ${attribute.defaultValue}` : 'srp attribute',
          documentation: { kind: MarkupKind.Markdown, value: attribute.description },
          textEdit: TextEdit.replace(replace(attribute.name), `${attribute.name}: `),
          filterText: attribute.name,
          sortText: attribute.name,
        });
      }
      return items;
    }
    const schema = this.schemaFor(kind, path);
    for (const [key, property] of Object.entries(schema?.properties ?? {})) {
      if (present.has(key) || (path.length === 0 && key === 'status')) continue;
      items.push(keyItem(key, typeLabel(property), property.description, replace(key), property.type));
    }
    return items;
  }

  hover(document: TextDocument, offset: number): Hover | null {
    const file = this.parse(document);
    const parsed = documentAt(file, offset);
    if (!parsed?.kind) return null;
    const at = pathAtOffset(parsed.doc, offset);
    if (!at || at.path.length === 0 || !at.node?.range) return null;
    const range: Range = { start: document.positionAt(at.node.range[0]), end: document.positionAt(at.node.range[1]) };
    const path = at.path;
    const last = path[path.length - 1];
    if (parsed.kind === 'Processor' && path.length === 3 && path[0] === 'spec' && path[1] === 'attributes' && typeof last === 'string') {
      const attribute = this.rules.attributes().find((a) => a.name === last);
      if (attribute) {
        const lines = [`**${attribute.name}** (Processor attribute)`, '', attribute.description];
        if (attribute.values) lines.push('', `Values: ${attribute.values.map((v) => `\`${v}\``).join(' | ')}`);
        if (attribute.defaultValue !== undefined) lines.push('', `Default: \`${attribute.defaultValue}\``);
        return { contents: { kind: MarkupKind.Markdown, value: lines.join('\n') }, range };
      }
      if (last.startsWith('srp.')) {
        return { contents: { kind: MarkupKind.Markdown, value: `**${last}**: unknown \`srp.*\` attribute` }, range };
      }
    }
    const schemaPath = path.map((segment) => (typeof segment === 'number' ? '*' : segment));
    const schema = this.schemaFor(parsed.kind, schemaPath);
    if (!schema) return null;
    const fieldName = path.filter((s) => typeof s === 'string').join('.');
    const lines = [`**${fieldName}** \`${typeLabel(schema)}\` (${parsed.kind})`];
    if (schema.description) lines.push('', schema.description);
    if (schema.enum) lines.push('', `Values: ${schema.enum.map((v) => `\`${String(v)}\``).join(' | ')}`);
    if (schema.default !== undefined) lines.push('', `Default: \`${JSON.stringify(schema.default)}\``);
    return { contents: { kind: MarkupKind.Markdown, value: lines.join('\n') }, range };
  }

  /** Go to definition: a Processor input/output → its Stream; a Stream's clusterStream (or name) → ClusterStream. */
  definition(document: TextDocument, offset: number, documentFor: (uri: string) => TextDocument | undefined): Location[] {
    this.parse(document);
    const reference = this.referenceAt(document.uri, offset);
    if (!reference) return [];
    return this.index
      .find(reference.targetKind, reference.targetName, reference.targetNamespace)
      .map((d) => locationOf(d.uri, d.nameRange, documentFor))
      .filter((l): l is Location => l !== undefined);
  }

  /** Find references: from a declaration's name or from any reference to the same target. */
  references(document: TextDocument, offset: number, includeDeclaration: boolean, documentFor: (uri: string) => TextDocument | undefined): Location[] {
    this.parse(document);
    let target: Pick<Declaration, 'kind' | 'name' | 'namespace'> | undefined;
    const declaration = this.index
      .declarations()
      .find((d) => d.uri === document.uri && offset >= d.nameRange.start && offset <= d.nameRange.end);
    if (declaration && declaration.kind !== 'Processor') target = declaration;
    const reference = this.referenceAt(document.uri, offset);
    if (!target && reference) {
      target = { kind: reference.targetKind, name: reference.targetName, namespace: reference.targetNamespace };
    }
    if (!target) return [];
    const found = this.index.referencesTo(target).filter((r) => !r.implicit);
    const locations = found.map((r) => locationOf(r.uri, r.range, documentFor));
    if (includeDeclaration) {
      for (const d of this.index.find(target.kind, target.name, target.namespace)) {
        locations.unshift(locationOf(d.uri, d.nameRange, documentFor));
      }
    }
    return locations.filter((l): l is Location => l !== undefined);
  }

  /** Quick fix for a missing Stream: append a new document declaring it. */
  codeActions(document: TextDocument, diagnostics: Diagnostic[]): CodeAction[] {
    const file = this.parse(document);
    const actions: CodeAction[] = [];
    const done = new Set<string>();
    for (const diagnostic of diagnostics) {
      if (diagnostic.code !== MISSING_STREAM_CODE) continue;
      const data = diagnostic.data as Partial<MissingStreamData> | undefined;
      if (typeof data?.name !== 'string') continue;
      const namespace = typeof data.namespace === 'string' ? data.namespace : DEFAULT_NAMESPACE;
      if (done.has(`${namespace}/${data.name}`)) continue;
      done.add(`${namespace}/${data.name}`);
      const protocol = protocolInFile(file) ?? 'kafka';
      const text = file.text;
      const end = document.positionAt(text.length);
      const separator = text.length === 0 || text.endsWith('\n') ? '' : '\n';
      const lines = [
        `${separator}---`,
        `apiVersion: ${API_VERSION}`,
        'kind: Stream',
        'metadata:',
        `  name: ${data.name}`,
        ...(namespace !== DEFAULT_NAMESPACE ? [`  namespace: ${namespace}`] : []),
        'spec:',
        `  name: ${data.name}`,
        `  protocol: ${protocol}`,
        '',
      ];
      actions.push({
        title: `Create Stream "${data.name}"`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        isPreferred: true,
        edit: { changes: { [document.uri]: [TextEdit.insert(end, lines.join('\n'))] } },
      });
    }
    return actions;
  }

  private referenceAt(uri: string, offset: number): Reference | undefined {
    return this.index
      .referencesIn(uri)
      .find((r) => !r.implicit && offset >= r.range.start && offset <= r.range.end);
  }

  private schemaFor(kind: OurKind, path: ReadonlyArray<string | number>): OpenApiSchema | undefined {
    const root = this.rules.schema(kind);
    return root ? schemaAt(root, path) : undefined;
  }
}

function documentAt(file: ParsedFile, offset: number): ParsedDocument | undefined {
  let best: ParsedDocument | undefined;
  for (const d of file.documents) if (d.range.start <= offset) best = d;
  return best;
}

/** While a document is being typed its kind may not parse yet; look for a `kind:` line in the same document. */
function kindFromText(text: string, offset: number): OurKind | undefined {
  const before = text.slice(0, offset);
  const docStart = Math.max(before.lastIndexOf('\n---'), 0);
  const nextSeparator = text.indexOf('\n---', offset);
  const body = text.slice(docStart, nextSeparator < 0 ? text.length : nextSeparator);
  const match = /^kind:\s*["']?(\w+)/m.exec(body);
  const kind = match?.[1];
  return kind && (OUR_KINDS as readonly string[]).includes(kind) ? (kind as OurKind) : undefined;
}

function protocolInFile(file: ParsedFile): Protocol | undefined {
  for (const d of file.documents) {
    if (d.kind !== 'Stream') continue;
    const spec = (d.value as { spec?: { protocol?: unknown } }).spec;
    // Only a valid protocol is worth copying: a new Stream must not inherit a neighbour's mistake.
    if (spec?.protocol === 'kafka' || spec?.protocol === 'rabbitmq') return spec.protocol satisfies Protocol;
  }
  return undefined;
}

function keyItem(key: string, detail: string, description: string | undefined, range: Range, type: string | undefined): CompletionItem {
  const snippet = type === 'object' ? `${key}:\n  $0` : type === 'array' ? `${key}:\n  - $0` : `${key}: $0`;
  return {
    label: key,
    kind: CompletionItemKind.Property,
    detail,
    ...(description ? { documentation: { kind: MarkupKind.Markdown, value: description } } : {}),
    textEdit: TextEdit.replace(range, snippet),
    insertTextFormat: InsertTextFormat.Snippet,
    filterText: key,
  };
}

function valueItem(value: string, detail: string, range: Range): CompletionItem {
  return { label: value, kind: CompletionItemKind.Value, detail, textEdit: TextEdit.replace(range, value), filterText: value };
}

function dedupe(items: CompletionItem[]): CompletionItem[] {
  const seen = new Set<string>();
  return items.filter((item) => (seen.has(item.label) ? false : (seen.add(item.label), true)));
}

function locationOf(uri: string, range: OffsetRange, documentFor: (uri: string) => TextDocument | undefined): Location | undefined {
  const document = documentFor(uri);
  if (!document) return undefined;
  return Location.create(uri, { start: document.positionAt(range.start), end: document.positionAt(range.end) });
}
