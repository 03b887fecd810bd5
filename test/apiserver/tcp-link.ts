// A TCP link from a free loopback port to a target that a test can cut and join again: the API server reaches etcd
// through it, so a test decides exactly when the server loses etcd and when it sees it again, independently of
// etcd's own restarts.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../support/ports';

export interface TcpLink {
  /** http://127.0.0.1:PORT (the link's end the server uses) */
  endpoint: string;
  /** Drops every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again. */
  join(): Promise<void>;
  close(): Promise<void>;
}

export async function tcpLink(targetPort: number, options: { joined?: boolean } = {}): Promise<TcpLink> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const join = async (): Promise<void> => {
    if (server) return;
    const s = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => { client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream).pipe(client);
    });
    server = s;
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(port, '127.0.0.1', () => resolve()); });
  };
  const cut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  if (options.joined !== false) await join();
  return { endpoint: `http://127.0.0.1:${port}`, cut, join, close: cut };
}
