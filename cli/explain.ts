// `sr explain <processor | url-of-debug-port>`: the plan of a streaming SQL processor (what `debugExplain` showed in
// the original), read from each instance's /debug/state: the operators, where the watermark stands, which open
// windows wait for what. By name, the instances come from the Processor's metrics-url annotation (set by `sr up`'s
// local runtime); in a cluster, port-forward a pod and pass its URL.
import { parseArgs } from 'node:util';
import type { Processor } from '../crds/types';
import { getNamed, instanceBases, openCluster, type ClusterFlags } from './stream/resources';

const USAGE = `Usage: sr explain <processor> [-n NAMESPACE] [--dir DIR | --kubeconfig FILE] [--state]
       sr explain <url-of-debug-port> [--state]

Prints the plan of a streaming SQL (FSQL) processor; --state adds watermarks, open windows and state sizes.
`;

interface SqlState { processor?: { name: string; instanceIndex: number }; sql?: { plan?: string; engine?: unknown; pendingRows?: number; debugQuery?: unknown } }

async function debugBases(target: string, namespace: string, flags: ClusterFlags): Promise<string[]> {
  if (/^https?:\/\//.test(target)) return [target.replace(/\/+$/, '')];
  const processor = await getNamed<Processor>(openCluster(flags), 'Processor', namespace, target);
  if (processor.spec.type !== 'FSQL') throw new Error(`Processor ${namespace}/${target} is of type ${processor.spec.type ?? 'SRP'}: only FSQL processors have a plan`);
  return instanceBases(processor);
}

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n', default: 'default' },
      dir: { type: 'string', default: '.sr' },
      kubeconfig: { type: 'string' },
      state: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const bases = await debugBases(positionals[0], values.namespace, { dir: values.dir, ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}) });
  for (const base of bases) {
    const response = await fetch(`${base}/debug/state`, { signal: AbortSignal.timeout(5000) });
    const state = await response.json() as SqlState;
    if (!state.sql) throw new Error(`${base} is not a streaming SQL processor`);
    process.stdout.write(`# ${state.processor?.name ?? positionals[0]} instance ${state.processor?.instanceIndex ?? '?'} (${base})\n${state.sql.plan ?? ''}\n`);
    if (values.state) process.stdout.write(`${JSON.stringify({ engine: state.sql.engine, pendingRows: state.sql.pendingRows, debugQuery: state.sql.debugQuery }, null, 2)}\n`);
  }
}
