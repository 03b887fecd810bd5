// Cross-document knowledge: which Streams, ClusterStreams and Processors the workspace's YAML files declare, and
// which names reference which. Used for "input names no Stream" diagnostics, go to definition, find references and
// the offline topology.
import { isMap, isScalar, isSeq, Node } from 'yaml';
import { findPair, isNode, OffsetRange, OurKind, ParsedFile, parseYamlFile } from './yaml-documents';

export const DEFAULT_NAMESPACE = 'default';

export interface Declaration {
  uri: string;
  kind: OurKind;
  name: string;
  /** Namespace (the default one when unset; '' for the cluster-scoped ClusterStream). */
  namespace: string;
  /** Range of metadata.name's value (the definition target). */
  nameRange: OffsetRange;
  /** Range of the whole document. */
  documentRange: OffsetRange;
  documentIndex: number;
  /** The document's value (for the offline topology). */
  value: unknown;
}

export interface Reference {
  uri: string;
  from: { kind: OurKind; name: string; namespace: string };
  /** What is referenced. */
  targetKind: 'Stream' | 'ClusterStream';
  targetName: string;
  targetNamespace: string;
  /** Field path of the reference, e.g. spec.inputs[0].name. */
  field: string;
  range: OffsetRange;
  /** For Processor references: input or output. */
  role?: 'input' | 'output';
  /** True when the name is implicit (a Stream without spec.storage.clusterStream): range is the Stream's name. */
  implicit?: boolean;
}

export interface FileEntries {
  declarations: Declaration[];
  references: Reference[];
}

/** Extracts declarations and references from one parsed file. */
export function indexFile(uri: string, file: ParsedFile): FileEntries {
  const declarations: Declaration[] = [];
  const references: Reference[] = [];
  for (const document of file.documents) {
    if (!document.kind || !document.name) continue;
    const kind = document.kind;
    const namespace = kind === 'ClusterStream' ? '' : document.namespace ?? DEFAULT_NAMESPACE;
    const nameNode = nodeAt(document.doc.contents, ['metadata', 'name']);
    const nameRange = nameNode?.range ? { start: nameNode.range[0], end: nameNode.range[1] } : document.range;
    declarations.push({
      uri,
      kind,
      name: document.name,
      namespace,
      nameRange,
      documentRange: document.range,
      documentIndex: document.index,
      value: document.value,
    });
    const from = { kind, name: document.name, namespace };
    if (kind === 'Processor') {
      for (const role of ['input', 'output'] as const) {
        const list = nodeAt(document.doc.contents, ['spec', `${role}s`]);
        if (!list || !isSeq(list)) continue;
        list.items.forEach((item: unknown, i: number) => {
          if (!isNode(item)) return;
          const nameValue = nodeAt(item, ['name']);
          if (!nameValue || !isScalar(nameValue) || typeof nameValue.value !== 'string' || !nameValue.range) return;
          references.push({
            uri,
            from,
            targetKind: 'Stream',
            targetName: nameValue.value,
            targetNamespace: namespace,
            field: `spec.${role}s[${i}].name`,
            range: { start: nameValue.range[0], end: nameValue.range[1] },
            role,
          });
        });
      }
    } else if (kind === 'Stream') {
      const explicit = nodeAt(document.doc.contents, ['spec', 'storage', 'clusterStream']);
      if (explicit && isScalar(explicit) && typeof explicit.value === 'string' && explicit.range) {
        references.push({
          uri,
          from,
          targetKind: 'ClusterStream',
          targetName: explicit.value,
          targetNamespace: '',
          field: 'spec.storage.clusterStream',
          range: { start: explicit.range[0], end: explicit.range[1] },
        });
      } else {
        // Without spec.storage.clusterStream a Stream binds to `<name>-cluster-stream` (auto-provisioned if missing).
        references.push({
          uri,
          from,
          targetKind: 'ClusterStream',
          targetName: `${document.name}-cluster-stream`,
          targetNamespace: '',
          field: 'metadata.name',
          range: nameRange,
          implicit: true,
        });
      }
    }
  }
  return { declarations, references };
}

function nodeAt(root: unknown, keys: string[]): Node | undefined {
  let node: unknown = root;
  for (const key of keys) {
    if (!isMap(node)) return undefined;
    const pair = findPair(node, key);
    node = pair?.value;
  }
  return isNode(node) ? node : undefined;
}

/** The workspace-wide index: files are replaced as they change; queries scan (workspaces are small). */
export class WorkspaceIndex {
  private readonly files = new Map<string, FileEntries>();

  update(uri: string, file: ParsedFile): void {
    this.files.set(uri, indexFile(uri, file));
  }

  updateText(uri: string, text: string): void {
    this.update(uri, parseYamlFile(text));
  }

  remove(uri: string): void {
    this.files.delete(uri);
  }

  uris(): string[] {
    return [...this.files.keys()];
  }

  declarations(): Declaration[] {
    return [...this.files.values()].flatMap((entry) => entry.declarations);
  }

  references(): Reference[] {
    return [...this.files.values()].flatMap((entry) => entry.references);
  }

  referencesIn(uri: string): Reference[] {
    return this.files.get(uri)?.references ?? [];
  }

  find(kind: OurKind, name: string, namespace: string): Declaration[] {
    return this.declarations().filter(
      (d) => d.kind === kind && d.name === name && (kind === 'ClusterStream' || d.namespace === namespace),
    );
  }

  /** The declaration a reference points at, if any file declares it. */
  resolve(reference: Reference): Declaration | undefined {
    return this.find(reference.targetKind, reference.targetName, reference.targetNamespace)[0];
  }

  /** References to a declaration (Processor inputs/outputs for a Stream; Streams for a ClusterStream). */
  referencesTo(declaration: Pick<Declaration, 'kind' | 'name' | 'namespace'>): Reference[] {
    return this.references().filter(
      (r) =>
        r.targetKind === declaration.kind &&
        r.targetName === declaration.name &&
        (declaration.kind === 'ClusterStream' || r.targetNamespace === declaration.namespace),
    );
  }

  /** Processor inputs/outputs in `uri` naming a Stream no workspace file declares. */
  danglingStreamReferences(uri: string): Reference[] {
    return this.referencesIn(uri).filter((r) => r.targetKind === 'Stream' && !this.resolve(r));
  }
}
