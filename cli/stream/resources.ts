// The API objects a user names on the command line (`sr tap <processor>`, `sr stream tail <stream>`, `sr explain
// <processor>`): read through the controllers' own client, with errors that say what is missing where, and what is
// there instead.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { METRICS_URL_ANNOTATION, type KindName, type Processor, type Stream, type StreamingResource } from '../../crds/types';
import { StreamingClient } from '../../controllers/kube/client';

export interface ClusterFlags {
  /** `sr up`'s state directory (its kubeconfig is DIR/kubeconfig). */
  dir: string;
  kubeconfig?: string;
}

export interface Cluster {
  client: StreamingClient;
  kubeConfig: KubeConfig;
  /** Where the API server is, for messages. */
  server: string;
  /** What to run when it cannot be reached. */
  hint: string;
}

export function openCluster(flags: ClusterFlags): Cluster {
  const path = flags.kubeconfig ?? join(resolve(flags.dir), 'kubeconfig');
  const hint = flags.kubeconfig ? `check --kubeconfig ${flags.kubeconfig}` : `is \`sr up --dir ${flags.dir}\` running? (or pass --kubeconfig)`;
  if (!existsSync(path)) throw new Error(`${path} does not exist: ${hint}`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(path);
  return { client: new StreamingClient(kubeConfig), kubeConfig, server: kubeConfig.getCurrentCluster()?.server ?? path, hint };
}

/** Any failure to talk to the API server, said once with where it is and what to check. */
async function ask<T>(cluster: Cluster, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    throw new Error(`API server ${cluster.server}: ${text} (${cluster.hint})`);
  }
}

/** A namespaced object, or an error naming the namespace and the objects of that kind there. */
export async function getNamed<T extends StreamingResource>(cluster: Cluster, kind: KindName, namespace: string, name: string): Promise<T> {
  const found = await ask(cluster, () => cluster.client.get<T>(kind, namespace, name));
  if (found) return found;
  const there = await ask(cluster, () => cluster.client.list<T>(kind));
  const names = there.items.filter((o) => (o.metadata.namespace ?? 'default') === namespace).map((o) => o.metadata.name).sort();
  throw new Error(`${kind} "${name}" not found in namespace "${namespace}" (${kind}s there: ${names.join(', ') || 'none'})`);
}

/** Why an object is not Ready, from its Ready condition; undefined when it is. */
export function notReadyReason(obj: Stream | Processor): string | undefined {
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return undefined;
  if (!ready) return 'it has no Ready condition yet (are the controllers running?)';
  return `Ready=${ready.status}${ready.reason ? ` ${ready.reason}` : ''}${ready.message ? `: ${ready.message}` : ''}`;
}

/** The debug ports of a Processor's instances, in replica order, from the metrics-url annotation the local runtime
 *  keeps up to date (`http://127.0.0.1:P/metrics` → `http://127.0.0.1:P`). */
export function instanceBases(processor: Processor): string[] {
  const urls = processor.metadata.annotations?.[METRICS_URL_ANNOTATION];
  if (!urls) {
    const where = `${processor.metadata.namespace ?? 'default'}/${processor.metadata.name ?? ''}`;
    throw new Error(`Processor ${where} advertises no instances yet (annotation ${METRICS_URL_ANNOTATION}); is it running? In a cluster, \`kubectl port-forward\` a pod and pass its URL`);
  }
  return urls.split(',').filter(Boolean).map((u) => u.replace(/\/metrics$/, ''));
}
