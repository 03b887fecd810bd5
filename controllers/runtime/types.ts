// The seam between the Processor reconciler and where processors run. `local` runs child processes on this
// machine; `kubernetes` writes Deployments/StatefulSets. The reconciler describes WHAT to run (a workload);
// the runtime decides HOW, and reports how many replicas run.
import type { Container, EnvVar, ProcessorType } from '../../crds/types';
import type { ProcessorConfig } from '../../processor/config';

export interface UdfSidecar {
  /** The container that serves the UDF (the first template container, as in the original). */
  containerName: string;
  /** The port the UDF listens on inside a pod (srp.grpcPort, else the container's first port, else 55554). */
  podPort: number;
}

/** A credential the processor reads from a Secret (servicebinding.io `binding`) via an environment variable. */
export interface SecretEnv {
  env: string;
  secret: string;
  key: string;
}

export interface ProcessorWorkload {
  /** namespace/name of the Processor. */
  key: string;
  namespace: string;
  name: string;
  uid?: string;
  generation?: number;
  type: ProcessorType;
  replicas: number;
  /** StatefulSet semantics: stable instance index per replica (partitioned input or forceStatefulSet). */
  stateful: boolean;
  /** SRP and FSQL: one configuration per instance (index i at position i); FSQL's carries `sql`. */
  configs: ProcessorConfig[];
  /** SRP: the UDF sidecar, when the processor calls one. The runtime sets `udf.address` in each config. */
  udf?: UdfSidecar;
  /** SRP: sidecar containers; SCS: the application containers. */
  containers: Container[];
  /** SCS: the Spring Cloud Stream environment per instance (index i at position i). */
  scsEnv?: EnvVar[][];
  /** Credentials to inject from binding Secrets (kubernetes runtime). */
  secretEnv?: SecretEnv[];
  /** Credentials the controllers know (a ClusterStream URL's user info, the default server's), by environment
   *  variable (workload.ts credentialsToEnvironment): local processes get them as environment variables, the
   *  kubernetes runtime writes them into the Secret `srp-<name>-credentials` and references it like a binding Secret. */
  credentials?: Record<string, string>;
}

export interface WorkloadStatus {
  replicas: number;
  readyReplicas: number;
  /** The workload cannot run here at all (e.g. a container image the local runtime cannot run): reported as Ready=False with this reason. */
  unsupported?: { reason: string; message: string };
  /** A human-readable note (last exit code, restart backoff ...). */
  message?: string;
  /** Prometheus metrics URLs of the processor instances, when reachable from this machine (local runtime). */
  metricsUrls?: string[];
}

export interface Runtime {
  readonly name: 'local' | 'kubernetes';
  /** Idempotent: makes the running workload match; unchanged replicas keep running. */
  apply(workload: ProcessorWorkload): Promise<WorkloadStatus>;
  /** Stops and removes everything the workload started. Idempotent. */
  remove(key: string): Promise<void>;
  /** Keys of the workloads this runtime currently runs (for removing orphans after a restart). */
  workloads(): Promise<string[]>;
  /** Called when a workload's status changes on its own (a process died, a pod became ready). */
  onStatusChange(listener: (key: string) => void): void;
  /** Stops supervising; `stopWorkloads` also stops what runs (sr up's Ctrl-C), else leaves it for the next run. */
  close(opts: { stopWorkloads: boolean }): Promise<void>;
}
