import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, connect } from 'node:tls';
import { createCertificateAuthority, issueClientCertificate, issueServingCertificate, loadOrCreateServingCertificate } from './index';
import { tempDir } from '../../test/support/tmp';

test('serving and client certificates chain to the CA and carry the names', async () => {
  const ca = createCertificateAuthority('test-ca');
  const serving = issueServingCertificate(ca, { hosts: ['localhost'], ips: ['127.0.0.1'] });
  const client = issueClientCertificate(ca, { cn: 'alice', organizations: ['system:masters', 'dev'] });
  const caX509 = new X509Certificate(ca.certPem);
  assert.equal(caX509.ca, true);
  const servingX509 = new X509Certificate(serving.certPem);
  assert.ok(servingX509.verify(caX509.publicKey));
  assert.match(servingX509.subjectAltName ?? '', /DNS:localhost/);
  assert.match(servingX509.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  const clientX509 = new X509Certificate(client.certPem);
  assert.ok(clientX509.verify(caX509.publicKey));
  assert.match(clientX509.subject, /CN=alice/);
  assert.match(clientX509.subject, /O=system:masters/);

  // A real TLS handshake: the client verifies the server against the CA and presents its own certificate.
  const server = createServer({ cert: serving.certPem, key: serving.keyPem, ca: [ca.certPem], requestCert: true, rejectUnauthorized: true }, (s) => s.end('hi'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: [ca.certPem], cert: client.certPem, key: client.keyPem, servername: 'localhost' });
    let data = '';
    socket.on('data', (d) => { data += d.toString(); });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
  server.close();
  assert.equal(reply, 'hi');
});

test('loadOrCreateServingCertificate writes apiserver.crt/.key once and reuses them', () => {
  const dir = tempDir('sr-pki-');
  try {
    const first = loadOrCreateServingCertificate(dir.path, ['sr.example']);
    assert.ok(existsSync(join(dir.path, 'apiserver.crt')));
    assert.ok(existsSync(join(dir.path, 'apiserver.key')));
    assert.match(new X509Certificate(first.certPem).subjectAltName ?? '', /DNS:sr\.example/);
    const second = loadOrCreateServingCertificate(dir.path, ['sr.example']);
    assert.equal(second.certPem, first.certPem);
    assert.ok(new X509Certificate(second.certPem).verify(new X509Certificate(second.caPem).publicKey));
  } finally {
    dir.remove();
  }
});
