// The in-cluster manifests: built with kubectl's own kustomize (there is no cluster here to apply them to), parsed,
// and checked the way a cluster would fail on them: object shape, unique names, namespaces that exist, selectors
// that select, ports that resolve, service accounts and roles that exist, the APIService routed to the Service of the
// API server Deployment, and flags that agree with each other (secure port, etcd address, certificate paths).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { tempDir } from '../support/tmp';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..', '..');
const DEPLOY = join(ROOT, 'deploy');
const GROUP = 'streaming.tanzu.vmware.com';
const VERSION = 'v1alpha1';
const NAMESPACE = 'streaming-runtime';

type Obj = Record<string, unknown>;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  livenessProbe?: { httpGet?: { path: string; port: string | number; scheme?: string } };
  readinessProbe?: { httpGet?: { path: string; port: string | number; scheme?: string } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { serviceAccountName?: string; containers: Container[]; volumes?: Array<{ name: string; secret?: { secretName: string } }> };
}

interface Workload extends K8sObject {
  spec: { replicas?: number; serviceName?: string; selector: { matchLabels: Record<string, string> }; template: PodTemplate };
}

interface Service extends K8sObject {
  spec: { clusterIP?: string; selector: Record<string, string>; ports: Array<{ name?: string; port: number; targetPort?: string | number }> };
}

interface Binding extends K8sObject {
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: Array<{ kind: string; name: string; namespace?: string }>;
}

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'APIService', 'CustomResourceDefinition']);
const KNOWN_API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  ServiceAccount: 'v1',
  Service: 'v1',
  Secret: 'v1',
  ConfigMap: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  APIService: 'apiregistration.k8s.io/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  CustomResourceDefinition: 'apiextensions.k8s.io/v1',
};
/** Roles every Kubernetes cluster has (bootstrap policy). */
const BUILT_IN_CLUSTER_ROLES = new Set(['system:auth-delegator', 'admin', 'edit', 'view', 'cluster-admin']);
const BUILT_IN_ROLES = new Set(['kube-system/extension-apiserver-authentication-reader']);
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

async function kustomize(dir: string): Promise<K8sObject[]> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { maxBuffer: 32 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((doc) => {
    assert.equal(doc.errors.length, 0, String(doc.errors[0]));
    return doc.toJS() as K8sObject;
  });
}

/** crd-install takes the CRDs from ../../crds as a kustomize directory (crds/kustomization.yaml). */
function kustomizeCrdInstall(): Promise<K8sObject[]> {
  return kustomize(join(DEPLOY, 'crd-install'));
}

function byKind<T extends K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

function find<T extends K8sObject>(objects: K8sObject[], kind: string, name: string, namespace?: string): T | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace)) as T | undefined;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The value of `--name=value` (or `--name value`) in a container's args. */
function flag(container: Container, name: string): string | undefined {
  const args = container.args ?? [];
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
    if (args[i] === `--${name}`) return args[i + 1];
  }
  return undefined;
}

function containerPort(container: Container, port: string | number): number | undefined {
  const match = (container.ports ?? []).find((p) => (typeof port === 'number' ? p.containerPort === port : p.name === port));
  return match?.containerPort;
}

/** Generic shape and cross-reference checks every install must pass. */
function checkConsistency(objects: K8sObject[]): void {
  const keys = new Set<string>();
  const namespaces = new Set(byKind(objects, 'Namespace').map((n) => n.metadata.name));
  for (const o of objects) {
    const where = `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
    assert.equal(typeof o.kind, 'string', 'every object has a kind');
    assert.equal(o.apiVersion, KNOWN_API_VERSIONS[o.kind], `${where}: apiVersion`);
    assert.ok(o.metadata && typeof o.metadata.name === 'string', `${where}: metadata.name`);
    assert.match(o.metadata.name, o.kind.endsWith('Role') || o.kind.endsWith('Binding') ? /^[a-z0-9:.-]+$/ : DNS_1123_SUBDOMAIN, `${where}: name`);
    if (CLUSTER_SCOPED.has(o.kind)) assert.equal(o.metadata.namespace, undefined, `${where}: cluster-scoped object with a namespace`);
    else {
      assert.ok(o.metadata.namespace, `${where}: namespaced object without a namespace`);
      assert.ok(namespaces.has(o.metadata.namespace) || o.metadata.namespace === 'kube-system', `${where}: namespace ${o.metadata.namespace} is not created`);
    }
    const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    assert.ok(!keys.has(key), `${key} defined twice`);
    keys.add(key);
  }

  for (const workload of [...byKind<Workload>(objects, 'Deployment'), ...byKind<Workload>(objects, 'StatefulSet')]) {
    const where = `${workload.kind} ${workload.metadata.name}`;
    const ns = workload.metadata.namespace;
    const template = workload.spec.template;
    assert.ok(selects(workload.spec.selector.matchLabels, template.metadata.labels), `${where}: selector does not select its own pods`);
    const sa = template.spec.serviceAccountName;
    if (sa) assert.ok(find(objects, 'ServiceAccount', sa, ns), `${where}: service account ${sa} missing`);
    assert.ok(template.spec.containers.length > 0, `${where}: no containers`);
    const volumes = new Set((template.spec.volumes ?? []).map((v) => v.name));
    const claimTemplates = new Set(((workload.spec as Obj).volumeClaimTemplates as Array<{ metadata: { name: string } }> | undefined ?? []).map((c) => c.metadata.name));
    for (const container of template.spec.containers) {
      assert.match(container.name, DNS_1123_LABEL, `${where}: container name`);
      assert.ok(container.image, `${where}/${container.name}: image`);
      for (const port of container.ports ?? []) {
        assert.ok(Number.isInteger(port.containerPort) && port.containerPort > 0 && port.containerPort < 65536, `${where}: containerPort`);
        if (port.name) assert.ok(port.name.length <= 15 && DNS_1123_LABEL.test(port.name), `${where}: port name ${port.name}`);
      }
      for (const probe of [container.livenessProbe, container.readinessProbe]) {
        if (probe?.httpGet) assert.ok(containerPort(container, probe.httpGet.port), `${where}/${container.name}: probe port ${probe.httpGet.port} is not a container port`);
      }
      for (const mount of container.volumeMounts ?? []) {
        assert.ok(volumes.has(mount.name) || claimTemplates.has(mount.name), `${where}/${container.name}: volume ${mount.name} missing`);
      }
    }
    // The namespace enforces Pod Security "restricted": every pod must pass it or it is never created.
    const namespace = find(objects, 'Namespace', ns ?? '');
    if (namespace?.metadata.labels?.['pod-security.kubernetes.io/enforce'] === 'restricted') {
      const podSecurity = ((template.spec as Obj).securityContext ?? {}) as { runAsNonRoot?: boolean; seccompProfile?: { type?: string } };
      for (const container of template.spec.containers) {
        const sc = ((container as unknown as Obj).securityContext ?? {}) as { runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[]; add?: string[] }; seccompProfile?: { type?: string }; privileged?: boolean };
        const at = `${where}/${container.name}`;
        assert.ok(sc.runAsNonRoot ?? podSecurity.runAsNonRoot, `${at}: runAsNonRoot (restricted)`);
        assert.equal(sc.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation=false (restricted)`);
        assert.ok(sc.capabilities?.drop?.includes('ALL'), `${at}: capabilities drop ALL (restricted)`);
        assert.ok(!sc.capabilities?.add?.some((c) => c !== 'NET_BIND_SERVICE'), `${at}: no added capabilities (restricted)`);
        assert.notEqual(sc.privileged, true, `${at}: not privileged`);
        assert.ok(['RuntimeDefault', 'Localhost'].includes(sc.seccompProfile?.type ?? podSecurity.seccompProfile?.type ?? ''), `${at}: seccompProfile (restricted)`);
      }
    }
    if (workload.kind === 'StatefulSet') {
      const governing = find<Service>(objects, 'Service', workload.spec.serviceName ?? '', ns);
      assert.ok(governing, `${where}: serviceName ${workload.spec.serviceName} has no Service`);
      assert.equal(governing.spec.clusterIP, 'None', `${where}: the governing Service must be headless`);
    }
  }

  for (const service of byKind<Service>(objects, 'Service')) {
    const where = `Service ${service.metadata.name}`;
    const backing = [...byKind<Workload>(objects, 'Deployment'), ...byKind<Workload>(objects, 'StatefulSet')].filter(
      (w) => w.metadata.namespace === service.metadata.namespace && selects(service.spec.selector, w.spec.template.metadata.labels),
    );
    assert.equal(backing.length, 1, `${where}: selects ${backing.length} workloads`);
    for (const port of service.spec.ports) {
      const target = port.targetPort ?? port.port;
      assert.ok(backing[0].spec.template.spec.containers.some((c) => containerPort(c, target)), `${where}: targetPort ${target} is no container port of ${backing[0].metadata.name}`);
    }
  }

  for (const binding of [...byKind<Binding>(objects, 'RoleBinding'), ...byKind<Binding>(objects, 'ClusterRoleBinding')]) {
    const where = `${binding.kind} ${binding.metadata.name}`;
    assert.equal(binding.roleRef.apiGroup, 'rbac.authorization.k8s.io', `${where}: roleRef.apiGroup`);
    if (binding.roleRef.kind === 'ClusterRole') {
      assert.ok(find(objects, 'ClusterRole', binding.roleRef.name) || BUILT_IN_CLUSTER_ROLES.has(binding.roleRef.name), `${where}: ClusterRole ${binding.roleRef.name} missing`);
    } else {
      assert.equal(binding.kind, 'RoleBinding', `${where}: a ClusterRoleBinding can only reference a ClusterRole`);
      const ns = binding.metadata.namespace ?? '';
      assert.ok(find(objects, 'Role', binding.roleRef.name, ns) || BUILT_IN_ROLES.has(`${ns}/${binding.roleRef.name}`), `${where}: Role ${binding.roleRef.name} missing`);
    }
    assert.ok(binding.subjects.length > 0, `${where}: no subjects`);
    for (const subject of binding.subjects) {
      if (subject.kind === 'ServiceAccount') assert.ok(find(objects, 'ServiceAccount', subject.name, subject.namespace), `${where}: service account ${subject.namespace}/${subject.name} missing`);
    }
  }

  for (const role of [...byKind(objects, 'ClusterRole'), ...byKind(objects, 'Role')]) {
    for (const rule of (role.rules as Rule[] | undefined) ?? []) assert.ok(rule.verbs.length > 0, `${role.kind} ${role.metadata.name}: rule without verbs`);
  }
}

/** Does some rule of the ClusterRoles bound to `serviceAccount` allow `verb` on `group`/`resource`? */
function saMay(objects: K8sObject[], serviceAccount: string, verb: string, group: string, resource: string): boolean {
  const roles = byKind<Binding>(objects, 'ClusterRoleBinding')
    .filter((b) => b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === NAMESPACE))
    .map((b) => find(objects, 'ClusterRole', b.roleRef.name))
    .filter((r): r is K8sObject => r !== undefined);
  return roles.some((role) =>
    ((role.rules as Rule[] | undefined) ?? []).some(
      (rule) => (rule.apiGroups ?? []).some((g) => g === group || g === '*') && (rule.resources ?? []).some((r) => r === resource || r === '*') && rule.verbs.some((v) => v === verb || v === '*'),
    ),
  );
}

function crdPlurals(): string[] {
  return ['clusterstream.yaml', 'stream.yaml', 'processor.yaml'].map((file) => {
    const crd = parseAllDocuments(readFileSync(join(ROOT, 'crds', file), 'utf8'))[0].toJS() as { spec: { group: string; names: { plural: string } } };
    assert.equal(crd.spec.group, GROUP);
    return crd.spec.names.plural;
  });
}

function checkControllers(objects: K8sObject[]): void {
  const deployment = find<Workload>(objects, 'Deployment', 'sr-controllers', NAMESPACE);
  assert.ok(deployment, 'controllers Deployment');
  const container = deployment.spec.template.spec.containers[0];
  assert.deepEqual([...(container.command ?? []), ...(container.args ?? [])].slice(0, 2), ['sr', 'controllers']);
  assert.equal(flag(container, 'runtime'), 'kubernetes');
  assert.equal(flag(container, 'leader-elect'), 'true');
  assert.ok((deployment.spec.replicas ?? 1) >= 1);
  assert.equal(deployment.spec.template.spec.serviceAccountName, 'sr-controllers');
  const sa = 'sr-controllers';
  for (const plural of crdPlurals()) {
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) assert.ok(saMay(objects, sa, verb, GROUP, plural), `controllers may ${verb} ${plural}`);
    assert.ok(saMay(objects, sa, 'update', GROUP, `${plural}/status`), `controllers may update ${plural}/status`);
  }
  for (const [group, resource] of [['apps', 'deployments'], ['apps', 'statefulsets'], ['', 'services'], ['', 'configmaps']]) {
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'delete']) assert.ok(saMay(objects, sa, verb, group, resource), `controllers may ${verb} ${resource}`);
  }
  assert.ok(saMay(objects, sa, 'get', '', 'secrets') && saMay(objects, sa, 'watch', '', 'secrets'), 'controllers read secrets');
  // ClusterStream URL credentials travel to processors in a Secret the controllers write (controllers/README.md).
  for (const verb of ['create', 'update', 'delete']) assert.ok(saMay(objects, sa, verb, '', 'secrets'), `controllers ${verb} credential secrets`);
  assert.ok(saMay(objects, sa, 'create', '', 'events'));
  for (const verb of ['get', 'create', 'update']) assert.ok(saMay(objects, sa, verb, 'coordination.k8s.io', 'leases'), `controllers may ${verb} leases`);
}

test('aggregated install (deploy/ and deploy/aggregated/): consistent, delegating, routed by the APIService', async () => {
  const objects = await kustomize(DEPLOY);
  checkConsistency(objects);
  checkControllers(objects);
  assert.deepEqual(await kustomize(join(DEPLOY, 'aggregated')), objects, 'deploy/ is the aggregated install');

  assert.ok(find(objects, 'Namespace', NAMESPACE));
  assert.equal(byKind(objects, 'CustomResourceDefinition').filter((crd) => (crd.spec as { group: string }).group === GROUP).length, 0, 'CRDs for our group would conflict with the APIService');

  // APIService -> Service -> Deployment -> container port == --secure-port.
  const apiService = find<K8sObject & { spec: Obj }>(objects, 'APIService', `${VERSION}.${GROUP}`);
  assert.ok(apiService, 'APIService v1alpha1.streaming.tanzu.vmware.com');
  const spec = apiService.spec as { group: string; version: string; service: { name: string; namespace: string; port?: number }; caBundle?: string; insecureSkipTLSVerify?: boolean; groupPriorityMinimum: number; versionPriority: number };
  assert.equal(spec.group, GROUP);
  assert.equal(spec.version, VERSION);
  assert.ok(Number.isInteger(spec.groupPriorityMinimum) && spec.groupPriorityMinimum > 0 && spec.groupPriorityMinimum <= 20000);
  assert.ok(Number.isInteger(spec.versionPriority) && spec.versionPriority > 0);
  assert.notEqual(spec.insecureSkipTLSVerify, true, 'the aggregator must verify our serving certificate');
  assert.ok(spec.caBundle && /^[A-Za-z0-9+/]+=*$/.test(spec.caBundle), 'caBundle is base64');
  const service = find<Service>(objects, 'Service', spec.service.name, spec.service.namespace);
  assert.ok(service, 'the APIService names an existing Service');
  const servicePort = service.spec.ports.find((p) => p.port === (spec.service.port ?? 443));
  assert.ok(servicePort, 'the APIService port is a port of the Service');
  const apiserver = find<Workload>(objects, 'Deployment', 'sr-apiserver', NAMESPACE);
  assert.ok(apiserver && selects(service.spec.selector, apiserver.spec.template.metadata.labels), 'the Service is backed by the API server Deployment');
  const container = apiserver.spec.template.spec.containers[0];
  assert.deepEqual([...(container.command ?? []), ...(container.args ?? [])].slice(0, 2), ['sr', 'apiserver']);
  assert.equal(String(containerPort(container, servicePort.targetPort ?? servicePort.port)), flag(container, 'secure-port'), 'Service targetPort is the --secure-port');

  // Probes on /livez and /readyz over HTTPS, on the secure port.
  assert.equal(container.livenessProbe?.httpGet?.path, '/livez');
  assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
  for (const probe of [container.livenessProbe, container.readinessProbe]) {
    assert.equal(probe?.httpGet?.scheme, 'HTTPS');
    assert.equal(String(containerPort(container, probe?.httpGet?.port ?? '')), flag(container, 'secure-port'));
  }

  // Serving certificate files come from the serving-cert Secret's mount.
  const volumes = apiserver.spec.template.spec.volumes ?? [];
  const certVolume = volumes.find((v) => v.secret?.secretName === 'sr-apiserver-serving-cert');
  assert.ok(certVolume, 'serving certificate Secret mounted');
  const mount = container.volumeMounts?.find((m) => m.name === certVolume.name);
  assert.ok(mount);
  assert.equal(flag(container, 'tls-cert-file'), `${mount.mountPath}/tls.crt`);
  assert.equal(flag(container, 'tls-private-key-file'), `${mount.mountPath}/tls.key`);

  // --etcd-servers points at the etcd Service's client port, and that Service fronts the etcd StatefulSet.
  const etcdUrl = new URL(flag(container, 'etcd-servers') ?? '');
  const [etcdServiceName, etcdNamespace] = etcdUrl.hostname.split('.');
  const etcdService = find<Service>(objects, 'Service', etcdServiceName, etcdNamespace);
  assert.ok(etcdService, `etcd Service ${etcdUrl.hostname}`);
  assert.ok(etcdService.spec.ports.some((p) => String(p.port) === etcdUrl.port), 'etcd client port');
  const etcd = find<Workload>(objects, 'StatefulSet', etcdServiceName, etcdNamespace);
  assert.ok(etcd && etcd.spec.serviceName === etcdService.metadata.name);

  // Kube flag names, delegated authorization, audit on.
  assert.equal(flag(container, 'authorization-mode'), 'Webhook');
  assert.ok(flag(container, 'audit-log-path'));
  for (const arg of container.args ?? []) if (arg.startsWith('--')) assert.match(arg, /^--[a-z0-9-]+(=.*)?$/, arg);

  // Delegation rights: system:auth-delegator and the kube-system authentication reader.
  const saName = apiserver.spec.template.spec.serviceAccountName;
  assert.equal(saName, 'sr-apiserver');
  const boundTo = (kind: string, roleKind: string, roleName: string, ns?: string): boolean =>
    byKind<Binding>(objects, kind).some((b) => (ns === undefined || b.metadata.namespace === ns) && b.roleRef.kind === roleKind && b.roleRef.name === roleName && b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === saName && s.namespace === NAMESPACE));
  assert.ok(boundTo('ClusterRoleBinding', 'ClusterRole', 'system:auth-delegator'), 'system:auth-delegator');
  assert.ok(boundTo('RoleBinding', 'Role', 'extension-apiserver-authentication-reader', 'kube-system'), 'extension-apiserver-authentication-reader in kube-system');

  // The etcd NetworkPolicy lets the API server pods in.
  const policy = find<K8sObject & { spec: { podSelector: { matchLabels: Record<string, string> }; ingress: Array<{ from: Array<{ podSelector: { matchLabels: Record<string, string> } }> }> } }>(objects, 'NetworkPolicy', 'sr-etcd', NAMESPACE);
  assert.ok(policy && selects(policy.spec.podSelector.matchLabels, etcd.spec.template.metadata.labels));
  assert.ok(policy.spec.ingress.some((rule) => rule.from.some((peer) => selects(peer.podSelector.matchLabels, apiserver.spec.template.metadata.labels))));

  // Images come from kustomize `images:`.
  for (const deployment of byKind<Workload>(objects, 'Deployment')) {
    for (const c of deployment.spec.template.spec.containers) assert.equal(c.image, 'streaming-runtime:0.1.0', `${deployment.metadata.name}: image set by kustomize`);
  }
});

/** The `--flags` a subcommand documents in its `--help` (the real `sr` build). */
async function documentedFlags(subcommand: string): Promise<Set<string>> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'dist', 'cli', 'sr.js'), subcommand, '--help']);
  return new Set([...stdout.matchAll(/--([a-z0-9-]+)/g)].map((m) => m[1]));
}

test('every flag the Deployments pass is one `sr apiserver` / `sr controllers` documents', async () => {
  const objects = await kustomize(DEPLOY);
  for (const [deployment, subcommand] of [['sr-apiserver', 'apiserver'], ['sr-controllers', 'controllers']]) {
    const known = await documentedFlags(subcommand);
    assert.ok(known.size > 3, `sr ${subcommand} --help lists its flags`);
    const container = find<Workload>(objects, 'Deployment', deployment, NAMESPACE)?.spec.template.spec.containers[0];
    assert.ok(container);
    for (const arg of container.args ?? []) {
      const name = /^--([a-z0-9-]+)/.exec(arg)?.[1];
      if (name) assert.ok(known.has(name), `${deployment}: sr ${subcommand} has no --${name}`);
    }
  }
});

test('kustomize images: one edit changes the image of every Deployment', async () => {
  const dir = tempDir('sr-deploy-image-');
  try {
    cpSync(DEPLOY, join(dir.path, 'deploy'), { recursive: true });
    const kustomization = join(dir.path, 'deploy', 'kustomization.yaml');
    writeFileSync(kustomization, readFileSync(kustomization, 'utf8').replace(/newName: streaming-runtime\n(\s+)newTag: "0.1.0"/, 'newName: registry.example.com/team/sr\n$1newTag: "9.9.9"'));
    const objects = await kustomize(join(dir.path, 'deploy'));
    const images = byKind<Workload>(objects, 'Deployment').flatMap((d) => d.spec.template.spec.containers.map((c) => c.image));
    assert.deepEqual(images.sort(), ['registry.example.com/team/sr:9.9.9', 'registry.example.com/team/sr:9.9.9']);
  } finally {
    dir.remove();
  }
});

test('aggregation-free install (deploy/crd-install/): the CRDs from crds/ plus the controllers', async () => {
  const objects = await kustomizeCrdInstall();
  checkConsistency(objects);
  checkControllers(objects);
  const crds = byKind<K8sObject & { spec: { group: string; names: { plural: string } } }>(objects, 'CustomResourceDefinition');
  assert.deepEqual(crds.map((crd) => crd.spec.names.plural).sort(), crdPlurals().sort());
  for (const crd of crds) {
    assert.equal(crd.spec.group, GROUP);
    assert.equal(crd.metadata.name, `${crd.spec.names.plural}.${GROUP}`);
  }
  assert.equal(byKind(objects, 'APIService').length, 0, 'no APIService: kube-apiserver serves the CRDs');
  assert.equal(find(objects, 'Deployment', 'sr-apiserver'), undefined);
  assert.equal(find(objects, 'StatefulSet', 'sr-etcd'), undefined);
});
