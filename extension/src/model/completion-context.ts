// Works out where the cursor is in a YAML document being typed, from indentation alone: half-typed YAML often
// has no AST node at the cursor (an empty line, `key:` with nothing after it), so the AST cannot answer this.

export interface CompletionContext {
  /** Keys from the document root to the map the cursor is in; '*' stands for "an item of a sequence". */
  parentPath: string[];
  /** 'key': typing a key of that map; 'value': typing the value of `key`. */
  position: 'key' | 'value';
  /** The key whose value is being typed (position 'value'). */
  key?: string;
  /** What is already typed of the key or value, and where it starts (replacement range start). */
  prefix: string;
  prefixStart: number;
  /** Keys already present in the map at the cursor (not proposed again). */
  siblingKeys: string[];
}

interface LineInfo {
  /** Column where the key starts (after any `- `). */
  keyIndent: number;
  /** Column of the `-` when the line starts a sequence item. */
  dashIndent?: number;
  key?: string;
  /** Text after `key:` (trimmed). */
  rest?: string;
}

const KEY_LINE = /^(\s*)((?:-\s+)*)(["']?)([^\s:"'#][^:#]*?)\3\s*:(?:\s+(.*)|$)/;

function describeLine(line: string): LineInfo | undefined {
  if (/^\s*(#.*)?$/.test(line)) return undefined;
  const m = KEY_LINE.exec(line);
  if (m) {
    const indent = m[1]?.length ?? 0;
    const dashes = m[2] ?? '';
    return {
      keyIndent: indent + dashes.length,
      dashIndent: dashes ? indent : undefined,
      key: (m[4] ?? '').trim(),
      rest: (m[5] ?? '').replace(/\s+#.*$/, '').trim(),
    };
  }
  const item = /^(\s*)(-\s+)?/.exec(line);
  const indent = item?.[1]?.length ?? 0;
  return { keyIndent: indent + (item?.[2]?.length ?? 0), dashIndent: item?.[2] ? indent : undefined };
}

export function completionContextAt(text: string, offset: number): CompletionContext {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  const lines = text.slice(0, lineStart).split('\n');
  lines.pop(); // the empty string after the last newline

  let position: 'key' | 'value';
  let key: string | undefined;
  let prefix: string;
  let keyIndent: number;
  let dashIndent: number | undefined;
  const valueMatch = /^(\s*)((?:-\s+)*)([^\s:#][^:#]*?)\s*:\s+(.*)$/.exec(before) ?? /^(\s*)((?:-\s+)*)([^\s:#][^:#]*?):()$/.exec(before);
  if (valueMatch && /:\s*$|:\s+\S*$/.test(before) && !/^\s*(-\s+)*$/.test(valueMatch[3] ?? '')) {
    position = 'value';
    key = (valueMatch[3] ?? '').trim().replace(/^["']|["']$/g, '');
    prefix = (valueMatch[4] ?? '').replace(/^["']/, '');
    keyIndent = (valueMatch[1]?.length ?? 0) + (valueMatch[2]?.length ?? 0);
    dashIndent = valueMatch[2] ? valueMatch[1]?.length : undefined;
  } else {
    position = 'key';
    const m = /^(\s*)((?:-\s+)*)(.*)$/.exec(before);
    prefix = (m?.[3] ?? '').replace(/^["']/, '');
    keyIndent = (m?.[1]?.length ?? 0) + (m?.[2]?.length ?? 0);
    dashIndent = m?.[2] ? m?.[1]?.length : undefined;
  }
  const prefixStart = offset - prefix.length;

  // Walk up: siblings share keyIndent; the first shallower `key:` line (or a `- ` at our indentation) is the parent.
  const parentPath: string[] = [];
  const siblingKeys: string[] = [];
  let target = keyIndent;
  let collectingSiblings = true;
  let inSequence = false;
  if (dashIndent !== undefined) {
    parentPath.unshift('*');
    target = dashIndent;
    collectingSiblings = false;
    inSequence = true;
  }
  // Lines after the cursor that belong to the same map are siblings too.
  if (collectingSiblings) {
    const after = text.slice(offset).split('\n').slice(1);
    for (const line of after) {
      if (/^---/.test(line)) break;
      const info = describeLine(line);
      if (!info) continue;
      if (info.keyIndent < keyIndent || (info.dashIndent !== undefined && info.dashIndent < keyIndent)) break;
      if (info.keyIndent === keyIndent && info.key && info.dashIndent === undefined) siblingKeys.push(info.key);
    }
  }
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] ?? '';
    if (/^(---|\.\.\.)/.test(line)) break;
    const info = describeLine(line);
    if (!info) continue;
    if (info.dashIndent !== undefined && info.dashIndent < target && info.keyIndent === target) {
      // The first key of the sequence item we are in: a sibling, then we are inside that item.
      if (collectingSiblings && info.key) siblingKeys.push(info.key);
      collectingSiblings = false;
      parentPath.unshift('*');
      target = info.dashIndent;
      inSequence = true;
      continue;
    }
    if (info.keyIndent === target && collectingSiblings && info.key && info.dashIndent === undefined) {
      siblingKeys.push(info.key);
      continue;
    }
    if (info.dashIndent !== undefined && info.dashIndent === target) continue; // a sibling sequence item
    // A parent is a `key:` with no inline value, shallower than us, or at the same column when we are a sequence
    // item (YAML allows `inputs:` followed by `- name: x` at the same indentation).
    if (info.keyIndent < target || (info.keyIndent === target && inSequence && info.dashIndent === undefined)) {
      if (!info.key || (info.rest ?? '') !== '') {
        if (info.keyIndent < target && info.dashIndent === undefined) break; // a scalar sibling of an ancestor: malformed
        continue;
      }
      collectingSiblings = false;
      parentPath.unshift(info.key);
      if (info.dashIndent !== undefined) {
        parentPath.unshift('*');
        target = info.dashIndent;
        inSequence = true;
      } else {
        target = info.keyIndent;
        inSequence = false;
      }
      if (target === 0 && info.dashIndent === undefined) break;
    }
  }
  return { parentPath, position, key, prefix, prefixStart, siblingKeys };
}
