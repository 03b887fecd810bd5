// Certificates for the API server and its clients, like kube-apiserver's --cert-dir self-signed serving pair.
// Everything is PEM strings so callers can write them to files, kubeconfigs or TLS options unchanged.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface CertificatePair {
  certPem: string;
  keyPem: string;
  /** The CA that signed it (also needed in kubeconfigs / TLS `ca`). */
  caPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function serialNumber(): string {
  // Positive 128-bit serial: a leading 0 nibble keeps the DER integer positive.
  return '0' + randomBytes(16).toString('hex').slice(1);
}

/** Subject attributes as UTF8String: Go's x509 rejects PrintableString values with characters like ':' or '@'. */
function utf8(name: string, value: string): { name: string; value: string; valueTagClass: forge.asn1.Class } {
  return { name, value, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class };
}

function generateKeys(): forge.pki.rsa.KeyPair {
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

function baseCertificate(publicKey: forge.pki.PublicKey, validDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  // Back-date one hour so clocks that are slightly behind still accept it.
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(Date.now() + validDays * DAY_MS);
  return cert;
}

/** A self-signed CA (10 years) that can sign serving and client certificates. */
export function createCertificateAuthority(commonName: string): CertificateAuthority {
  const keys = generateKeys();
  const cert = baseCertificate(keys.publicKey, 3650);
  const subject = [utf8('commonName', commonName)];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

function signWithCa(cert: forge.pki.Certificate, ca: CertificateAuthority): void {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  cert.setIssuer(caCert.subject.attributes);
  cert.sign(caKey, forge.md.sha256.create());
}

export interface ServingNames {
  /** DNS names (e.g. localhost, sr-apiserver.sr-system.svc). */
  hosts?: string[];
  /** IP addresses (e.g. 127.0.0.1, ::1). */
  ips?: string[];
}

/** A serving certificate (1 year) for the given DNS names and IPs, signed by `ca`. */
export function issueServingCertificate(ca: CertificateAuthority, names: ServingNames): CertificatePair {
  const hosts = names.hosts ?? [];
  const ips = names.ips ?? [];
  const keys = generateKeys();
  const cert = baseCertificate(keys.publicKey, 365);
  cert.setSubject([utf8('commonName', hosts[0] ?? ips[0] ?? 'localhost')]);
  const altNames = [
    ...hosts.map((value) => ({ type: 2, value })),
    ...ips.map((ip) => ({ type: 7, ip })),
  ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
  signWithCa(cert, ca);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey), caPem: ca.certPem };
}

export interface ClientIdentity {
  /** The user name (CN). */
  cn: string;
  /** The groups (O), e.g. system:masters. */
  organizations?: string[];
}

/** A client certificate (1 year): CN = user, O = groups, like Kubernetes' x509 authenticator expects. */
export function issueClientCertificate(ca: CertificateAuthority, identity: ClientIdentity): CertificatePair {
  const keys = generateKeys();
  const cert = baseCertificate(keys.publicKey, 365);
  cert.setSubject([
    utf8('commonName', identity.cn),
    ...(identity.organizations ?? []).map((value) => utf8('organizationName', value)),
  ]);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  signWithCa(cert, ca);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey), caPem: ca.certPem };
}

/** Splits host names into DNS names and IP addresses. */
export function splitHosts(hosts: string[]): Required<ServingNames> {
  return { hosts: hosts.filter((h) => isIP(h) === 0), ips: hosts.filter((h) => isIP(h) !== 0) };
}

export interface ServingCertificateFiles extends CertificatePair {
  certFile: string;
  keyFile: string;
  /** ca.crt in the same directory: what clients must trust. */
  caFile: string;
}

/**
 * Like kube-apiserver's --cert-dir: reuses `apiserver.crt`/`apiserver.key` when present, otherwise creates a CA
 * (`ca.crt`/`ca.key`) and a serving certificate for `hosts` (names and IPs; localhost/127.0.0.1 always included).
 */
export function loadOrCreateServingCertificate(certDir: string, hosts: string[] = []): ServingCertificateFiles {
  const certFile = join(certDir, 'apiserver.crt');
  const keyFile = join(certDir, 'apiserver.key');
  const caFile = join(certDir, 'ca.crt');
  const caKeyFile = join(certDir, 'ca.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const certPem = readFileSync(certFile, 'utf8');
    const caPem = existsSync(caFile) ? readFileSync(caFile, 'utf8') : certPem;
    return { certPem, keyPem: readFileSync(keyFile, 'utf8'), caPem, certFile, keyFile, caFile };
  }
  mkdirSync(certDir, { recursive: true, mode: 0o700 });
  const ca = existsSync(caFile) && existsSync(caKeyFile)
    ? { certPem: readFileSync(caFile, 'utf8'), keyPem: readFileSync(caKeyFile, 'utf8') }
    : createCertificateAuthority(`sr-apiserver-ca-${Math.floor(Date.now() / 1000)}`);
  const all = Array.from(new Set(['localhost', '127.0.0.1', '::1', ...hosts]));
  const pair = issueServingCertificate(ca, splitHosts(all));
  writeFileSync(caFile, ca.certPem, { mode: 0o644 });
  writeFileSync(caKeyFile, ca.keyPem, { mode: 0o600 });
  writeFileSync(certFile, pair.certPem, { mode: 0o644 });
  writeFileSync(keyFile, pair.keyPem, { mode: 0o600 });
  return { ...pair, certFile, keyFile, caFile };
}
