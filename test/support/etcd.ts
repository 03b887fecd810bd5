// Starts a real etcd (Debian's etcd-server) on free loopback ports for one test file.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, waitFor } from './ports';
import { tempDir } from './tmp';

export interface EtcdHandle {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  dataDir: string;
  /** Stops the process (SIGTERM, then SIGKILL) and keeps the data directory. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data (for restart tests). */
  restart(): Promise<void>;
  /** Stops it and removes the data directory. */
  destroy(): Promise<void>;
}

export async function startEtcd(): Promise<EtcdHandle> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const dir = tempDir('sr-etcd-');
  const endpoint = `http://127.0.0.1:${clientPort}`;
  let proc: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    proc = spawn(
      'etcd',
      [
        '--name', 'sr-test',
        '--data-dir', dir.path,
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-cluster', `sr-test=http://127.0.0.1:${peerPort}`,
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    const exited = new Promise<never>((_, reject) => proc?.once('exit', (code) => reject(new Error(`etcd exited (${code}): ${stderr}`))));
    await Promise.race([
      waitFor('etcd health', async () => (await fetch(`${endpoint}/health`)).ok, 20_000, 100),
      exited,
    ]);
    exited.catch(() => undefined);
  };

  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
      p.once('exit', () => { clearTimeout(timer); resolve(); });
      p.kill('SIGTERM');
    });
  };

  await launch();
  return {
    endpoint,
    dataDir: dir.path,
    stop,
    restart: async () => { await stop(); await launch(); },
    destroy: async () => { await stop(); dir.remove(); },
  };
}
