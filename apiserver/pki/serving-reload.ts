// The serving certificate kept current, like kube's DynamicServingCertificateController: the certificate and key
// files (--tls-cert-file/--tls-private-key-file, or --cert-dir's pair) are watched, and a new pair that parses and
// matches becomes the TLS context of new connections (existing connections keep theirs). A pair that does not
// (a half-written rotation: new certificate, old key) is refused, logged, and the previous pair stays in force.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import { watchFiles, type FileWatch } from '../auth/index';

export interface ServingPair {
  cert: string;
  key: string;
}

/** Throws unless `cert` parses and its public key belongs to `key`. */
export function checkServingPair(pair: ServingPair): void {
  const certificate = new X509Certificate(pair.cert);
  const key = createPrivateKey(pair.key);
  if (!certificate.checkPrivateKey(key)) throw new Error('the private key does not match the certificate');
}

export interface ServingCertificateWatch {
  current(): ServingPair;
  stop(): void;
}

/** Watches `certFile`/`keyFile`, whose content `initial` already serves; `apply` installs a new pair. */
export function watchServingCertificate(
  files: { certFile: string; keyFile: string },
  initial: ServingPair,
  apply: (pair: ServingPair) => void,
  logger: Logger,
  intervalMs?: number,
): ServingCertificateWatch {
  let current = initial;
  const watch: FileWatch = watchFiles([files.certFile, files.keyFile], [initial.cert, initial.key], {
    intervalMs,
    apply: ([cert, key]) => {
      const pair = { cert, key };
      checkServingPair(pair);
      apply(pair);
      current = pair;
      logger.info({ certFile: files.certFile, notAfter: new X509Certificate(cert).validTo }, 'serving certificate reloaded');
    },
    onError: (message) => logger.error({ certFile: files.certFile, keyFile: files.keyFile, err: message }, 'serving certificate not reloaded; the previous one stays in force'),
  });
  return { current: () => current, stop: () => watch.stop() };
}
