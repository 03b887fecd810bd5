// The informer against a scripted API server: list, watch from the list's resourceVersion, bookmarks move the
// resume point, a closed watch resumes from the last resourceVersion, 410 Gone relists and reports objects deleted
// meanwhile.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import type { Stream } from '../../crds/types';
import { StreamingClient } from './client';
import { Informer } from './informer';
import { waitFor } from '../../test/support/ports';

const stream = (name: string, rv: number): Stream => ({
  apiVersion: 'streaming.tanzu.vmware.com/v1alpha1', kind: 'Stream',
  metadata: { name, namespace: 'default', resourceVersion: String(rv) }, spec: { name, protocol: 'kafka' },
});

const requests: string[] = [];
let server: Server;
let url = '';
let lists = 0;
let watches = 0;

function line(res: ServerResponse, type: string, object: object): void { res.write(JSON.stringify({ type, object }) + '\n'); }

before(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(`${u.searchParams.get('watch') ? 'WATCH' : 'LIST'} rv=${u.searchParams.get('resourceVersion') ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    if (!u.searchParams.get('watch')) {
      lists++;
      const items = lists === 1 ? [stream('a', 3), stream('b', 5)] : [stream('a', 3), stream('c', 8)];
      res.end(JSON.stringify({ kind: 'StreamList', metadata: { resourceVersion: lists === 1 ? '5' : '20' }, items }));
      return;
    }
    watches++;
    if (watches === 1) {
      line(res, 'BOOKMARK', { kind: 'Stream', metadata: { resourceVersion: '7' } });
      line(res, 'ADDED', stream('c', 8));
      res.end(); // the server closes the watch: resume from 8
    } else if (watches === 2) {
      line(res, 'ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
      res.end();
    } else {
      // Keep the last watch open until the test ends.
      line(res, 'BOOKMARK', { kind: 'Stream', metadata: { resourceVersion: '21' } });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
});

after(async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); });

test('list, watch, bookmark, resume, 410 relist with deletes', async () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: url, skipTLSVerify: true }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'c', cluster: 'c', user: 'u' }], currentContext: 'c' });
  const informer = new Informer<Stream>(new StreamingClient(kc), 'Stream', pino({ level: 'silent' }));
  const events: string[] = [];
  informer.onChange((key, cur, prev) => events.push(`${cur ? (prev ? 'update' : 'add') : 'delete'} ${key}`));
  informer.start();
  await informer.waitForSync();
  await waitFor('relisted after 410', () => informer.stats.gone === 1 && watches >= 3, 10_000);
  informer.stop();
  assert.deepEqual(requests.slice(0, 5), ['LIST rv=', 'WATCH rv=5', 'WATCH rv=8', 'LIST rv=', 'WATCH rv=20']);
  assert.deepEqual(informer.keys().sort(), ['default/a', 'default/c']);
  assert.ok(events.includes('delete default/b'), `b deleted while the watch was expired: ${events.join(', ')}`);
  assert.equal(informer.stats.bookmarks >= 1, true);
});
