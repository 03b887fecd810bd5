// Runs the real kubectl against a test API server with its own kubeconfig and a fresh discovery cache directory.
import { spawn } from 'node:child_process';
import { tempDir } from './tmp';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  /** Runs `kubectl <args>`; never throws on a non-zero exit (check `code`). */
  run(args: string[], options?: { input?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<KubectlResult>;
  /** Runs and throws (with stderr) on a non-zero exit; returns stdout. */
  ok(args: string[], options?: { input?: string; env?: Record<string, string>; timeoutMs?: number }): Promise<string>;
  /** Starts a long-running kubectl (e.g. `get -w`); returns the output so far and a stop function. */
  start(args: string[]): { output: () => string; stop: () => Promise<void> };
  cleanup(): void;
}

export function kubectlFor(kubeconfigPath: string): Kubectl {
  const cache = tempDir('sr-kubectl-cache-');
  const base = ['--kubeconfig', kubeconfigPath, '--cache-dir', cache.path];
  const run: Kubectl['run'] = (args, options = {}) => new Promise((resolve, reject) => {
    const child = spawn('kubectl', [...base, ...args], { env: { ...process.env, ...(options.env ?? {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
    if (options.input !== undefined) child.stdin.end(options.input); else child.stdin.end();
  });
  return {
    run,
    ok: async (args, options) => {
      const r = await run(args, options);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    start: (args) => {
      const child = spawn('kubectl', [...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      return {
        output: () => out,
        stop: () => new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
          child.once('close', () => resolve());
          child.kill('SIGTERM');
        }),
      };
    },
    cleanup: () => cache.remove(),
  };
}
