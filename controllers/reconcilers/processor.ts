// Processor: resolve every input and output in the Processor's own namespace (auto-provisioning missing Streams
// when allowed), build the configuration, deploy through the runtime, and report Ready, replicas, readyReplicas,
// selector and observedGeneration. A deleted Processor is stopped by the runtime (its cache entry is gone).
import type { Processor, Stream } from '../../crds/types';
import { API_VERSION, METRICS_URL_ANNOTATION, PROCESSOR_LABEL } from '../../crds/types';
import { AUTO_PROVISIONED_LABEL, consumerGroupsOf, namespaceOf, streamDestination } from '../claims';
import { errorText, isReady } from '../conditions';
import { DONE, reportFailure, requeueAfter, writeReady, type ControllerContext, type ReadyReport, type Reconciler, type StatusFields } from '../context';
import { isApiError } from '../kube/client';
import { attachSql, checkPlan, describeDiagnostics, sqlStreams, sqlTables, SqlTableError } from '../sql-workload';
import { buildWorkload, credentialsToEnvironment, desiredReplicas, type ResolvedStream } from '../workload';

/** How long a namespace must have seen no new Stream or Processor before missing Streams are auto-provisioned. */
export const AUTO_PROVISION_GRACE_MS = 5000;

export const reconcileProcessor: Reconciler = async (ctx, key) => {
  const processor = ctx.processors.get(key);
  if (!processor || processor.metadata.deletionTimestamp) {
    await ctx.runtime.remove(key);
    return DONE;
  }
  const ns = namespaceOf(processor);
  const desired = desiredReplicas(processor);
  // Messages quote errors and the processors' /readyz lines: writeReady removes a URL's credentials from them.
  const fields = (replicas = 0, readyReplicas = 0): StatusFields<Processor> => ({
    replicas, readyReplicas, selector: `${PROCESSOR_LABEL}=${processor.metadata.name ?? ''}`,
  });
  const report = async (ready: ReadyReport, replicas = 0, readyReplicas = 0): Promise<void> => {
    await writeReady(ctx, ctx.processors, processor, ready, fields(replicas, readyReplicas));
  };
  const notReady = (reason: string, message: string): Promise<void> => report({ status: 'False', reason, message });

  const attributes = processor.spec.attributes ?? {};
  if (!Array.isArray(processor.spec.inputs ?? []) || !Array.isArray(processor.spec.outputs ?? [])) {
    await notReady('InvalidSpec', 'spec.inputs and spec.outputs must be lists of {name}');
    return DONE;
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
      await notReady('InvalidQuery', describeDiagnostics(sql.diagnostics));
      await ctx.runtime.remove(key);
      return DONE;
    }
    for (const name of sql.inputs) if (!names.inputs.includes(name)) names.inputs.push(name);
    for (const name of sql.outputs) if (!names.outputs.includes(name)) names.outputs.push(name);
  }
  const all = [...new Set([...names.inputs, ...names.outputs, ...(names.late ? [names.late] : []), ...(names.deadLetter ? [names.deadLetter] : [])])];
  const missing: string[] = [];
  const unready: string[] = [];
  const resolved = new Map<string, ResolvedStream>();
  for (const name of all) {
    const stream = ctx.streams.get(`${ns}/${name}`);
    if (!stream) { missing.push(name); continue; }
    if (!isReady(stream.status?.conditions)) { unready.push(name); continue; }
    const address = Object.values(stream.status?.storageAddress?.server ?? {})[0];
    const endpoint = ctx.brokers.endpoint(stream.spec.protocol, address?.url);
    if (!endpoint) { unready.push(name); continue; }
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
      await notReady('ProcessorStreamNotReady', `waiting for Stream(s) ${missing.map((m) => `"${m}"`).join(', ')}`);
      return requeueAfter(AUTO_PROVISION_GRACE_MS - Math.max(0, quietFor));
    }
  }
  if (missing.length) {
    if (!ctx.options.autoProvisionStreams) {
      await notReady('StreamNotFound', `Stream(s) ${missing.map((m) => `"${m}"`).join(', ')} not found in namespace "${ns}" and auto-provisioning is off`);
      await ctx.runtime.remove(key);
      return DONE;
    }
    for (const name of missing) {
      try {
        const created = await ctx.client.create<Stream>({
          apiVersion: API_VERSION, kind: 'Stream',
          metadata: { name, namespace: ns, labels: { [AUTO_PROVISIONED_LABEL]: 'true' } },
          spec: { name, protocol: 'kafka' },
        });
        ctx.streams.observe(created);
      } catch (err) {
        if (!isApiError(err, 409)) {
          return reportFailure(ctx, ctx.processors, processor, { reason: 'StreamProvisioningFailed', message: `could not create Stream "${name}": ${errorText(err)}` }, fields(), err);
        }
      }
    }
  }
  if (missing.length || unready.length) {
    const waiting = [...missing, ...unready];
    await notReady('ProcessorStreamNotReady', `waiting for Stream(s) ${waiting.map((m) => `"${m}"`).join(', ')} to be ready`);
    return DONE;
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
        await notReady('InvalidQuery', describeDiagnostics(diagnostics));
        await ctx.runtime.remove(key);
        return DONE;
      }
      const exchange = attachSql(workload, processor, tables, ctx.brokers.defaultSchemaRegistry(), registryUrl, plans);
      // The exchange destinations beside the inputs, with room for the replicas (see sql-workload.ts).
      for (const entry of exchange?.inputs ?? []) {
        const source = resolved.get(entry.stream);
        if (source) derived.push({ protocol: entry.binding.protocol, endpoint: source.endpoint, destination: entry.binding.destination, partitions: exchange!.partitions });
      }
    } catch (err) {
      if (!(err instanceof SqlTableError)) throw err;
      await notReady(err.reason, err.message);
      // A registry that does not answer yet (it may be starting) is asked again.
      return err.reason === 'SchemaRegistryUnavailable' ? requeueAfter(5000) : DONE;
    }
  }
  credentialsToEnvironment(workload);
  try {
    for (const d of derived) await ctx.brokers.provisioner(d.protocol, d.endpoint).ensure(d.endpoint, d.destination, d.partitions ?? 1);
  } catch (err) {
    return reportFailure(ctx, ctx.processors, processor, { reason: 'ProvisioningFailed', message: `could not create the dead-letter/late destinations: ${errorText(err)}` }, fields(), err);
  }
  let status;
  try {
    status = await ctx.runtime.apply(workload);
  } catch (err) {
    return reportFailure(ctx, ctx.processors, processor, { reason: 'DeploymentFailed', message: `${ctx.runtime.name} runtime: ${errorText(err)}` }, fields(), err);
  }
  if (status.unsupported) {
    await notReady(status.unsupported.reason, status.unsupported.message);
    return DONE;
  }
  await advertiseMetrics(ctx, processor, status.metricsUrls);
  if (status.readyReplicas >= desired && status.replicas === desired) {
    await report({ status: 'True', reason: 'ProcessorDeployed', message: `${status.readyReplicas}/${desired} replica(s) running` }, status.replicas, status.readyReplicas);
    return DONE;
  }
  await report({ status: 'False', reason: 'ProcessorDeploying', message: `${status.readyReplicas}/${desired} replica(s) running${status.message ? `; ${status.message}` : ''}` }, status.replicas, status.readyReplicas);
  // The runtime notifies on changes; this is a safety net for runtimes that cannot (a cluster without watches).
  return requeueAfter(5000);
};

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
