// One JSON encoding per write: the value stored in etcd and the API object answered to the writer differ only by
// metadata.resourceVersion (stored values carry none), so both are cut from the same text instead of serialising
// the object twice.
import type { JsonObject } from '../storage/interface';

/** Where a write's caller receives the JSON text of the object it is answered (when the write could cut it). */
export interface AnswerText {
  json?: string;
}

export interface EncodedWrite {
  /** The stored form: `{apiVersion, kind, metadata, ...rest}` without resourceVersion. */
  stored: JsonObject;
  /** JSON.stringify(stored). */
  storedJson: string;
  /**
   * The API form at `revision` (what toApi gives for the stored form); its JSON text goes to `text`, unless it
   * cannot be cut from the stored one (metadata already names a resourceVersion).
   */
  answer(revision: number, text?: AnswerText): JsonObject;
}

/**
 * Encodes a write of `metadata` and `rest` (every field but apiVersion, kind and metadata) under the given TypeMeta.
 * The stored form puts metadata right after TypeMeta, in the order toApi answers, so that the answer's text is the
 * stored text with `"resourceVersion":"N"` appended to metadata. The objects given must not be changed afterwards:
 * they are shared by the stored form and the answer.
 */
export function encodeWrite(typeMetaJsonHead: string, apiVersion: string, kind: string, metadata: Record<string, unknown>, rest: JsonObject): EncodedWrite {
  const metadataJson = JSON.stringify(metadata);
  const restJson = JSON.stringify(rest);
  const tail = restJson.length > 2 ? `,${restJson.slice(1)}` : '}';
  return {
    stored: { apiVersion, kind, metadata, ...rest },
    storedJson: `${typeMetaJsonHead}${metadataJson}${tail}`,
    answer(revision: number, text?: AnswerText): JsonObject {
      const resourceVersion = String(revision);
      // A resourceVersion already in metadata would keep its place (and so the answer's order) in toApi's copy.
      if (text && !Object.prototype.hasOwnProperty.call(metadata, 'resourceVersion')) {
        const separator = metadataJson.length > 2 ? ',' : '';
        text.json = `${typeMetaJsonHead}${metadataJson.slice(0, -1)}${separator}"resourceVersion":${JSON.stringify(resourceVersion)}}${tail}`;
      }
      return { apiVersion, kind, metadata: { ...metadata, resourceVersion }, ...rest };
    },
  };
}

/** `{"apiVersion":...,"kind":...,"metadata":` for a kind: the start of every encoded write of it. */
export function typeMetaJsonHead(apiVersion: string, kind: string): string {
  return `{"apiVersion":${JSON.stringify(apiVersion)},"kind":${JSON.stringify(kind)},"metadata":`;
}
