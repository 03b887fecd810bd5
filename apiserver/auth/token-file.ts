// Static bearer tokens: kube-apiserver's `--token-auth-file` CSV, one user per line:
//   token,user,uid,"group1,group2"
// (quoted fields as in RFC 4180; columns after the fourth are ignored, like Kubernetes does).
import { hash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { UserInfo } from './types';

/** Splits one CSV line into fields, honouring double quotes ("" inside quotes is a quote). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let atFieldStart = true;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
      continue;
    }
    if (ch === ',') {
      fields.push(field);
      field = '';
      atFieldStart = true;
      continue;
    }
    if (atFieldStart && (ch === ' ' || ch === '\t')) continue; // Go's csv TrimLeadingSpace, as Kubernetes reads it
    if (atFieldStart && ch === '"') {
      quoted = true;
      atFieldStart = false;
      continue;
    }
    atFieldStart = false;
    field += ch;
  }
  if (quoted) throw new Error('unterminated quoted field');
  fields.push(field);
  return fields;
}

function digest(token: string): Buffer {
  return hash('sha256', token, 'buffer');
}

/** Users by token; looked up by the token's SHA-256 so the comparison does not leak timing about stored tokens. */
export class StaticTokens {
  private readonly usersByDigest = new Map<string, { digest: Buffer; user: UserInfo }>();
  /**
   * The token each connection last authenticated with, and its user: a client sends the same token on every request
   * of a connection (all of client-go's, over one HTTP/2 connection), so it is hashed once per connection. Kept
   * with this set of tokens, so a set loaded anew (a changed file) starts with no remembered token: a revoked token
   * is refused on the next request of every connection.
   */
  private readonly byConnection = new WeakMap<object, { token: string; user: UserInfo }>();

  constructor(entries: Array<{ token: string; user: UserInfo }>) {
    for (const entry of entries) {
      const d = digest(entry.token);
      this.usersByDigest.set(d.toString('hex'), { digest: d, user: entry.user });
    }
  }

  get size(): number {
    return this.usersByDigest.size;
  }

  lookup(token: string): UserInfo | undefined {
    const d = digest(token);
    const hit = this.usersByDigest.get(d.toString('hex'));
    return hit && timingSafeEqual(hit.digest, d) ? hit.user : undefined;
  }

  /**
   * lookup, remembered per connection (any object standing for it). Comparing with `===` leaks nothing: the token
   * compared with is one this same connection already presented and had accepted.
   */
  lookupOnConnection(token: string, connection: object | undefined): UserInfo | undefined {
    if (connection === undefined) return this.lookup(token);
    const remembered = this.byConnection.get(connection);
    if (remembered !== undefined && remembered.token === token) return remembered.user;
    const user = this.lookup(token);
    if (user) this.byConnection.set(connection, { token, user });
    return user;
  }
}

/** Parses the CSV text; `source` names the file in error messages (which never include a token). */
export function parseTokenFile(text: string, source: string): { tokens: StaticTokens; warnings: string[] } {
  const entries: Array<{ token: string; user: UserInfo }> = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${source}:${index + 1}`;
    let fields: string[];
    try {
      fields = parseCsvLine(line);
    } catch (err) {
      throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (fields.length < 3) throw new Error(`${where}: expected token,user,uid[,"groups"]`);
    const [token, name, uid] = fields;
    if (token === '' || name === '') throw new Error(`${where}: token and user must not be empty`);
    if (seen.has(token)) warnings.push(`${where}: duplicate token, this line wins`);
    seen.add(token);
    const groups = fields.length >= 4 ? fields[3].split(',').filter((group) => group !== '') : [];
    const user: UserInfo = { name, groups };
    if (uid !== '') user.uid = uid;
    entries.push({ token, user });
  });
  return { tokens: new StaticTokens(entries), warnings };
}

export function loadTokenFile(path: string): { tokens: StaticTokens; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read --token-auth-file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseTokenFile(text, path);
}
