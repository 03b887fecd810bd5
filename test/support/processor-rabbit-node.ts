// A PRIVATE RabbitMQ node for broker-restart tests (never stop_app the shared node): its own node name, ports,
// data and log directories, no plugins. The Debian wrapper runs the server as the `rabbitmq` user, so the
// directory is handed to that user when we run as root.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, chmodSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { freePort, waitFor } from './ports';
import { tempDir } from './tmp';

const run = promisify(execFile);

export interface PrivateRabbit {
  url: string;
  node: string;
  stopApp(): Promise<void>;
  startApp(): Promise<void>;
  destroy(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

function rabbitUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'rabbitmq']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'rabbitmq']).toString().trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

export async function startPrivateRabbit(): Promise<PrivateRabbit> {
  const port = await freePort();
  const distPort = await freePort();
  const node = `sr-${randomBytes(3).toString('hex')}@localhost`;
  const dir = tempDir('sr-rabbit-');
  chmodSync(dir.path, 0o755);
  mkdirSync(join(dir.path, 'mnesia'));
  mkdirSync(join(dir.path, 'log'));
  writeFileSync(join(dir.path, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir.path, 'rabbitmq.conf'), 'loopback_users = none\n');
  const owner = rabbitUser();
  if (owner) for (const p of ['', 'mnesia', 'log', 'enabled_plugins', 'rabbitmq.conf']) chownSync(join(dir.path, p), owner.uid, owner.gid);
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir.path, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir.path, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir.path, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir.path, 'rabbitmq.conf'),
    RABBITMQ_PID_FILE: join(dir.path, 'pid'),
  };
  await run('rabbitmq-server', ['-detached'], { env });
  await waitFor(`private rabbitmq ${node} on ${port}`, () => portOpen(port), 90_000, 200);
  const ctl = async (...args: string[]): Promise<void> => { await run('rabbitmqctl', ['-n', node, ...args], { env, timeout: 60_000 }); };
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    node,
    stopApp: async () => {
      await ctl('stop_app');
      await waitFor('private rabbitmq listener closed', async () => !(await portOpen(port)), 30_000, 100);
    },
    startApp: async () => {
      await ctl('start_app');
      await waitFor('private rabbitmq listener open', () => portOpen(port), 60_000, 100);
    },
    destroy: async () => {
      await ctl('stop').catch(() => undefined);
      dir.remove();
    },
  };
}
