// Issue 15, "Claims and status": a pipeline applied the moment `sr up` answers (as `npm run up` does) must converge
// whatever the timing — a level-triggered control plane requeues a Processor whenever one of its Streams changes,
// from the first event on. The anomaly-detection sample (an FSQL Processor reading Streams through its query, and
// an SRP Processor) is applied as soon as `kubectl get srs` first answers, several times, each on a fresh `sr up`.
// (Before, the FSQL Processor stayed ProcessorStreamNotReady with every Stream Ready: reproduced 4 times out of 4.)
import { test } from 'node:test';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SR_ENTRY } from '../support/controllers-up';
import { freePort, waitFor } from '../support/ports';
import { tempDir } from '../support/tmp';

const run = promisify(execFile);
const SAMPLE = '/work/shared/sr-samples/anomaly-detection__streaming-pipeline.yaml';
const ROUNDS = 3;

interface Item { kind: string; metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } }

test(`a pipeline applied the moment sr up answers converges (${ROUNDS} fresh starts)`, async () => {
  for (let round = 1; round <= ROUNDS; round++) {
    const dir = tempDir('sr-up-early-');
    const port = await freePort();
    const child = spawn(process.execPath, [SR_ENTRY, 'up', '--dir', dir.path, '--port', String(port), '--log-level', 'warn'], { stdio: 'ignore', detached: true });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const kubeconfig = join(dir.path, 'kubeconfig');
    const kubectl = async (...args: string[]): Promise<string> => (await run('kubectl', ['--kubeconfig', kubeconfig, ...args])).stdout;
    try {
      // The first moment the API answers: the controllers may not even be running yet.
      await waitFor('kubectl get srs answers', async () => {
        if (!existsSync(kubeconfig)) return false;
        await kubectl('get', 'srs');
        return true;
      }, 120_000, 50);
      await kubectl('apply', '-f', SAMPLE);
      let last = '';
      await waitFor(`round ${round}: every Stream and the FSQL Processor Ready`, async () => {
        const items = (JSON.parse(await kubectl('get', 'srs,srp', '-o', 'json')) as { items: Item[] }).items;
        last = items.map((i) => `${i.kind}/${i.metadata.name}: ${JSON.stringify(i.status?.conditions?.find((c) => c.type === 'Ready'))}`).join('\n');
        const ready = (i: Item): boolean => i.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
        const streams = items.filter((i) => i.kind === 'Stream');
        const fsql = items.find((i) => i.kind === 'Processor' && i.metadata.name === 'possible-fraud-detection');
        const stuck = items.filter((i) => i.kind === 'Processor' && i.status?.conditions?.some((c) => c.reason === 'ProcessorStreamNotReady'));
        return streams.length === 3 && streams.every(ready) && !!fsql && ready(fsql) && stuck.length === 0;
      }, 60_000, 250).catch((err: unknown) => { throw new Error(`${String(err)}\n${last}`); });
    } finally {
      try { process.kill(child.pid!, 'SIGTERM'); } catch { /* gone */ }
      const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 30_000);
      await exited;
      clearTimeout(timer);
      dir.remove();
    }
  }
});
