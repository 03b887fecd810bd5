// Processor: resolve every input and output in the Processor's own namespace (auto-provisioning missing Streams
// when allowed), build the configuration, deploy through the runtime, and report Ready, replicas, readyReplicas,
// selector and observedGeneration. A deleted Processor is stopped by the runtime (its cache entry is gone).
import type { Processor, ProcessorStatus, Stream } from '../../crds/types';
import { API_VERSION, METRICS_URL_ANNOTATION, PROCESSOR_LABEL } from '../../crds/types';
import { errorText, isReady, setCondition } from '../conditions';
import { writeStatus, type ControllerContext } from '../context';
import { isApiError } from '../kube/client';
import type { ReconcileOutcome } from '../queue';
import { buildWorkload, credentialsToEnvironment, desiredReplicas, type ResolvedStream } from '../workload';
import { redactCredentials } from '../brokers';
import { consumerGroupsOf } from './clusterstream';
import { streamDestination } from './stream';
import { attachSql, checkPlan, describeDiagnostics, sqlStreams, sqlTables, SqlTableError } from '../sql-workload';

/** How long a namespace must have seen no new Stream or Processor before missing Streams are auto-provisioned. */
export const AUTO_PROVISION_GRACE_MS = 5000;


export async function reconcileProcessor(ctx: ControllerContext, key: string): Promise<ReconcileOutcome | void> {
  const processor = ctx.processors.get(key);
  if (!processor || processor.metadata.deletionTimestamp) {
    await ctx.runtime.remove(key);
    return;
  }
  const ns = processor.metadata.namespace ?? 'default';
  const generation = processor.metadata.generation;
  const desired = desiredReplicas(processor);
  const set = async (status: 'True' | 'False' | 'Unknown', reason: string, message: string, replicas = 0, readyReplicas = 0): Promise<void> => {
    const next: ProcessorStatus = {
      observedGeneration: generation,
      replicas, readyReplicas,
      selector: `${PROCESSOR_LABEL}=${processor.metadata.name ?? ''}`,
      // Messages quote errors and the processors' /readyz lines: never with a URL's credentials.
      conditions: setCondition(processor.status?.conditions, { status, reason, message: redactCredentials(message), observedGeneration: generation }),
    };
    await writeStatus(ctx, ctx.processors, processor, next);
  };

  const attributes = processor.spec.attributes ?? {};
  if (!Array.isArray(processor.spec.inputs ?? []) || !Array.isArray(processor.spec.outputs ?? [])) {
    await set('False', 'InvalidSpec', 'spec.inputs and spec.outputs must be lists of {name}');
    return;
  }
  const names = {
    inputs: (processor.spec.inputs ?? []).map((i) => i.name),
    outputs: (processor.spec.outputs ?? []).map((o) => o.name),
    late: attributes['srp.output.late'],
    deadLetter: attributes['srp.output.deadLetter'],
  };
  // FSQL: the statements say which Streams are read (inputs) and written (outputs).
  const sql = processor.spec.type === 'FSQL' ? sqlStreams(processor) : undefined;
  if (sql) {
    if (sql.diagnostics.length) {
      await set('False', 'InvalidQuery', describeDiagnostics(sql.diagnostics));
      await ctx.runtime.remove(key);
      return;
    }
    for (const name of sql.inputs) if (!names.inputs.includes(name)) names.inputs.push(name);
    for (const name of sql.outputs) if (!names.outputs.includes(name)) names.outputs.push(name);
  }
  const all = [...new Set([...names.inputs, ...names.outputs, ...(names.late ? [names.late] : []), ...(names.deadLetter ? [names.deadLetter] : [])])];
  const missing: string[] = [];
  const notReady: string[] = [];
  const resolved = new Map<string, ResolvedStream>();
  for (const name of all) {
    const stream = ctx.streams.get(`${ns}/${name}`);
    if (!stream) { missing.push(name); continue; }
    if (!isReady(stream.status?.conditions)) { notReady.push(name); continue; }
    const address = Object.values(stream.status?.storageAddress?.server ?? {})[0];
    const endpoint = ctx.brokers.endpoint(stream.spec.protocol, address?.url);
    if (!endpoint) { notReady.push(name); continue; }
    resolved.set(name, { stream, endpoint, destination: streamDestination(ctx, stream), consumerGroups: consumerGroupsOf(ctx, stream) });
  }
  if (missing.length && ctx.options.autoProvisionStreams) {
    // `kubectl apply -f pipeline.yaml` creates a Processor before the Streams that follow it in the file: give the
    // user's own Streams a moment to arrive before auto-provisioning defaults (else their apply would fail with
    // AlreadyExists, or "field is immutable" on the default's spec). The moment is a quiet period of the namespace,
    // not an age of the Processor: while Streams and Processors are still being created there (a file still being
    // applied, however slowly), nothing is provisioned.
    const quietFor = Date.now() - lastCreation(ctx, ns, processor);
    if (quietFor < AUTO_PROVISION_GRACE_MS) {
      await set('False', 'ProcessorStreamNotReady', `waiting for Stream(s) ${missing.map((m) => `"${m}"`).join(', ')}`);
      return { requeueAfterMs: AUTO_PROVISION_GRACE_MS - Math.max(0, quietFor) };
    }
  }
  if (missing.length) {
    if (!ctx.options.autoProvisionStreams) {
      await set('False', 'StreamNotFound', `Stream(s) ${missing.map((m) => `"${m}"`).join(', ')} not found in namespace "${ns}" and auto-provisioning is off`);
      await ctx.runtime.remove(key);
      return;
    }
    for (const name of missing) {
      try {
        const created = await ctx.client.create<Stream>({
          apiVersion: API_VERSION, kind: 'Stream',
          metadata: { name, namespace: ns, labels: { 'streaming.tanzu.vmware.com/auto-provisioned': 'true' } },
          spec: { name, protocol: 'kafka' },
        });
        ctx.streams.observe(created);
      } catch (err) {
        if (!isApiError(err, 409)) {
          await set('False', 'StreamProvisioningFailed', `could not create Stream "${name}": ${errorText(err)}`);
          throw err;
        }
      }
    }
  }
  if (missing.length || notReady.length) {
    const waiting = [...missing, ...notReady];
    await set('False', 'ProcessorStreamNotReady', `waiting for Stream(s) ${waiting.map((m) => `"${m}"`).join(', ')} to be ready`);
    return;
  }

  const { workload, derived } = buildWorkload({
    processor,
    inputs: names.inputs.map((n) => resolved.get(n)!),
    outputs: names.outputs.map((n) => resolved.get(n)!),
    ...(names.late ? { late: resolved.get(names.late)! } : {}),
    ...(names.deadLetter ? { deadLetter: resolved.get(names.deadLetter)! } : {}),
    credentialsInConfig: ctx.runtime.name === 'local',
    httpPort: ctx.runtime.name === 'local' ? 0 : 8080,
    schemaRegistryFor: (url) => ctx.brokers.schemaRegistry(url).url,
  });
  if (sql) {
    const streams = [...names.inputs, ...names.outputs].map((n) => resolved.get(n)!.stream);
    try {
      // In-cluster registry addresses are served by the default (development) registry on the local runtime.
      const registryUrl = (url: string): string => ctx.brokers.schemaRegistry(url).url;
      const tables = await sqlTables(streams, undefined, registryUrl);
      const { plans, diagnostics } = checkPlan(processor, sql.statements, tables);
      if (diagnostics.length) {
        await set('False', 'InvalidQuery', describeDiagnostics(diagnostics));
        await ctx.runtime.remove(key);
        return;
      }
      const exchange = attachSql(workload, processor, tables, ctx.brokers.defaultSchemaRegistry(), registryUrl, plans);
      // The exchange destinations beside the inputs, with room for the replicas (see sql-workload.ts).
      for (const entry of exchange?.inputs ?? []) {
        const source = resolved.get(entry.stream);
        if (source) derived.push({ protocol: entry.binding.protocol, endpoint: source.endpoint, destination: entry.binding.destination, partitions: exchange!.partitions });
      }
    } catch (err) {
      if (!(err instanceof SqlTableError)) throw err;
      await set('False', err.reason, err.message);
      // A registry that does not answer yet (it may be starting) is asked again.
      return err.reason === 'SchemaRegistryUnavailable' ? { requeueAfterMs: 5000 } : undefined;
    }
  }
  credentialsToEnvironment(workload);
  try {
    for (const d of derived) await ctx.brokers.provisioner(d.protocol, d.endpoint).ensure(d.endpoint, d.destination, d.partitions ?? 1);
  } catch (err) {
    await set('False', 'ProvisioningFailed', `could not create the dead-letter/late destinations: ${errorText(err)}`);
    throw err;
  }
  let status;
  try {
    status = await ctx.runtime.apply(workload);
  } catch (err) {
    await set('False', 'DeploymentFailed', `${ctx.runtime.name} runtime: ${errorText(err)}`);
    throw err;
  }
  if (status.unsupported) {
    await set('False', status.unsupported.reason, status.unsupported.message);
    return;
  }
  await advertiseMetrics(ctx, processor, status.metricsUrls);
  if (status.readyReplicas >= desired && status.replicas === desired) {
    await set('True', 'ProcessorDeployed', `${status.readyReplicas}/${desired} replica(s) running`, status.replicas, status.readyReplicas);
    return;
  }
  await set('False', 'ProcessorDeploying', `${status.readyReplicas}/${desired} replica(s) running${status.message ? `; ${status.message}` : ''}`, status.replicas, status.readyReplicas);
  // The runtime notifies on changes; this is a safety net for runtimes that cannot (a cluster without watches).
  return { requeueAfterMs: 5000 };
}

/** Keeps the metrics-url annotation in step with where the instances serve metrics (the editor draws throughput). */
async function advertiseMetrics(ctx: ControllerContext, processor: Processor, urls: string[] | undefined): Promise<void> {
  const wanted = urls?.join(',');
  const current = processor.metadata.annotations?.[METRICS_URL_ANNOTATION];
  if (wanted === current) return;
  await ctx.client.patch<Processor>('Processor', processor.metadata.namespace, processor.metadata.name ?? '', {
    metadata: { annotations: { [METRICS_URL_ANNOTATION]: wanted ?? null } },
  });
}

/** When the newest Stream or Processor of the namespace was created (epoch ms; the Processor's own at least). */
function lastCreation(ctx: ControllerContext, namespace: string, processor: Processor): number {
  let last = Date.parse(processor.metadata.creationTimestamp ?? '') || 0;
  for (const object of [...ctx.streams.list(), ...ctx.processors.list()]) {
    if (object.metadata.namespace !== namespace) continue;
    last = Math.max(last, Date.parse(object.metadata.creationTimestamp ?? '') || 0);
  }
  return last;
}
