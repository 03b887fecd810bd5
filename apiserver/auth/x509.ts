// Client-certificate chain verification. The HTTPS server asks for client certificates but does not reject
// unverified ones (token users must get in over the same port), so every authenticator that trusts a certificate
// verifies the chain itself, against its own CA bundle: `--client-ca-file` and `--requestheader-client-ca-file` are
// different trust domains and one must never vouch for the other.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';

const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';
const MAX_CHAIN_LENGTH = 8;

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM bundle; throws when there is none or one does not parse. */
export function parsePemBundle(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error(`${source}: no PEM certificate found`);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Error(`${source}: certificate ${index + 1} does not parse: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}

export function loadCaBundle(path: string, flag: string): { pem: string; certificates: X509Certificate[] } {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${flag} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { pem, certificates: parsePemBundle(pem, `${flag} ${path}`) };
}

function isCurrent(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

export type ChainVerdict = { ok: true } | { ok: false; error: string };

/** Verdicts per presented chain (one per TLS connection) and trust bundle, re-checked after this long. */
const VERDICT_TTL_MS = 60_000;
const verdictCache = new WeakMap<X509Certificate[], WeakMap<X509Certificate[], { verdict: ChainVerdict; at: number }>>();

/** verifyClientChain, memoised per connection's chain: keep-alive clients reuse one verification. */
export function verifyClientChainCached(presented: X509Certificate[], roots: X509Certificate[], now = Date.now()): ChainVerdict {
  let byRoots = verdictCache.get(presented);
  if (!byRoots) {
    byRoots = new WeakMap();
    verdictCache.set(presented, byRoots);
  }
  const hit = byRoots.get(roots);
  if (hit && now - hit.at < VERDICT_TTL_MS) return hit.verdict;
  const verdict = verifyClientChain(presented, roots, now);
  byRoots.set(roots, { verdict, at: now });
  return verdict;
}

/**
 * Verifies that `presented[0]` (the leaf) chains to one of `roots`, possibly through intermediates from
 * `presented[1..]`, every certificate current, intermediates marked as CAs, and the leaf usable for client auth.
 */
export function verifyClientChain(presented: X509Certificate[], roots: X509Certificate[], now = Date.now()): ChainVerdict {
  const leaf = presented[0];
  if (!leaf) return { ok: false, error: 'no client certificate' };
  if (!isCurrent(leaf, now)) return { ok: false, error: 'x509: certificate has expired or is not yet valid' };
  const usages = leaf.keyUsage;
  if (usages && usages.length > 0 && !usages.includes(CLIENT_AUTH_EKU) && !usages.includes(ANY_EKU)) {
    return { ok: false, error: 'x509: certificate specifies an incompatible key usage' };
  }
  if (roots.some((root) => root.raw.equals(leaf.raw))) return { ok: true };

  let current = leaf;
  const used = new Set<X509Certificate>([leaf]);
  for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth++) {
    if (roots.some((root) => isCurrent(root, now) && issuedBy(current, root))) return { ok: true };
    const next = presented.find((candidate) => !used.has(candidate) && candidate.ca && isCurrent(candidate, now) && issuedBy(current, candidate));
    if (!next) break;
    used.add(next);
    current = next;
  }
  return { ok: false, error: 'x509: certificate signed by unknown authority' };
}

export interface CertificateIdentity {
  commonName: string;
  organizations: string[];
}

/** CN and every O of the leaf's subject (what Kubernetes maps to user name and groups). */
export function subjectIdentity(cert: X509Certificate): CertificateIdentity {
  const subject = cert.toLegacyObject().subject as unknown as Record<string, string | string[] | undefined>;
  const asList = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
  return { commonName: asList(subject.CN)[0] ?? '', organizations: asList(subject.O) };
}

const chainsBySocket = new WeakMap<TLSSocket, X509Certificate[]>();

/**
 * The certificates the client presented on this TLS connection, leaf first (empty for none, or for plain sockets).
 * Parsed once per connection: keep-alive connections carry many requests with the same certificate.
 */
export function peerCertificateChain(socket: TLSSocket): X509Certificate[] {
  const cached = chainsBySocket.get(socket);
  if (cached) return cached;
  const chain: X509Certificate[] = [];
  if (typeof socket.getPeerCertificate === 'function') {
    let entry = socket.getPeerCertificate(true);
    const seen = new Set<string>();
    while (entry && entry.raw && !seen.has(entry.fingerprint256)) {
      seen.add(entry.fingerprint256);
      try {
        chain.push(new X509Certificate(entry.raw));
      } catch {
        break;
      }
      entry = entry.issuerCertificate;
    }
  }
  chainsBySocket.set(socket, chain);
  return chain;
}
