// A real Streaming Runtime API server for the extension's tests: etcd plus `sr apiserver`, started by the
// repository's own test support (test/support/apiserver-server.ts) with a CA + bearer-token kubeconfig — the shape
// `sr up` writes. That module finds `dist/cli/sr.js` relative to its own location, so it is loaded from the
// repository's build (dist/), not from a copy compiled into the extension's out/.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ApiServerHandle, StartApiServerOptions } from '../../../../test/support/apiserver-server';
import type { EtcdHandle } from '../../../../test/support/etcd';

const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..', '..', '..');
const SUPPORT = join(REPO_ROOT, 'dist', 'test', 'support');

export interface TestCluster {
  kubeconfig: string;
  server: string;
  /** The CA file of the serving certificate (for kubeconfigs of other users). */
  caFile: string;
  /** stderr tail of the API server (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

/** `options`: extra `sr apiserver` flags (e.g. RBAC) and token-file lines (`token,user,uid,"groups"`). */
export async function startTestCluster(options: { extraArgs?: string[]; extraTokens?: string[] } = {}): Promise<TestCluster> {
  const serverModule = join(SUPPORT, 'apiserver-server.js');
  if (!existsSync(serverModule) || !existsSync(join(REPO_ROOT, 'dist', 'cli', 'sr.js'))) {
    throw new Error(`${serverModule} or dist/cli/sr.js is missing: build the repository first (npx tsc -p tsconfig.json)`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startEtcd } = require(join(SUPPORT, 'etcd.js')) as { startEtcd: () => Promise<EtcdHandle> };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startApiServer } = require(serverModule) as { startApiServer: (options: StartApiServerOptions) => Promise<ApiServerHandle> };
  const etcd = await startEtcd();
  let apiserver: ApiServerHandle;
  try {
    apiserver = await startApiServer({ etcdEndpoint: etcd.endpoint, ...options });
  } catch (error) {
    await etcd.destroy();
    throw error;
  }
  return {
    kubeconfig: apiserver.kubeconfigPath,
    server: apiserver.url,
    caFile: apiserver.caFile,
    logs: () => apiserver.logs(),
    stop: async () => {
      await apiserver.stop();
      await etcd.destroy();
    },
  };
}

/** A credential plugin as EKS/GKE/AKS ship them: prints an ExecCredential; counts its runs in $SR_EXEC_COUNT. */
export const EXEC_PLUGIN = `const fs = require('node:fs');
if (process.env.SR_EXEC_COUNT) fs.appendFileSync(process.env.SR_EXEC_COUNT, 'x');
if (process.env.SR_EXEC_FAIL) { process.stderr.write('plugin: ' + process.env.SR_EXEC_FAIL); process.exit(1); }
process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential',
  status: { token: process.env.SR_EXEC_TOKEN, expirationTimestamp: new Date(Date.now() + 3600000).toISOString() } }));
`;

/** A kubeconfig whose user runs `plugin` with the given environment. */
export function execKubeconfig(server: string, caFile: string, plugin: string, env: Record<string, string>, namespace?: string): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'exec',
    clusters: [{ name: 'c', cluster: { server, 'certificate-authority': caFile } }],
    contexts: [{ name: 'exec', context: { cluster: 'c', user: 'plugin', ...(namespace ? { namespace } : {}) } }],
    users: [{ name: 'plugin', user: { exec: {
      apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [plugin], interactiveMode: 'Never',
      env: Object.entries(env).map(([name, value]) => ({ name, value })),
    } } }],
  });
}
