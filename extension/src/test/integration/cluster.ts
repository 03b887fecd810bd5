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
  /** stderr tail of the API server (for failure messages). */
  logs(): string;
  stop(): Promise<void>;
}

export async function startTestCluster(): Promise<TestCluster> {
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
    apiserver = await startApiServer({ etcdEndpoint: etcd.endpoint });
  } catch (error) {
    await etcd.destroy();
    throw error;
  }
  return {
    kubeconfig: apiserver.kubeconfigPath,
    server: apiserver.url,
    logs: () => apiserver.logs(),
    stop: async () => {
      await apiserver.stop();
      await etcd.destroy();
    },
  };
}
