// Structural checks of generated Kubernetes objects without a cluster: every field must exist in the
// Kubernetes API model of that kind with the right JSON type — the models are @kubernetes/client-node's, generated
// from the Kubernetes OpenAPI — plus the validation rules the API server would apply that matter for our objects
// (names, labels, required fields, selectors matching templates, references between objects).
import * as k8s from '@kubernetes/client-node';

interface Attribute { name: string; baseName: string; type: string }
type ModelClass = { getAttributeTypeMap(): Attribute[] };

const MODELS: Record<string, string> = {
  'apps/v1/Deployment': 'V1Deployment', 'apps/v1/StatefulSet': 'V1StatefulSet', 'v1/Service': 'V1Service', 'v1/ConfigMap': 'V1ConfigMap', 'v1/Secret': 'V1Secret',
};

function modelOf(name: string): ModelClass | undefined {
  const candidate = (k8s as unknown as Record<string, unknown>)[name];
  return candidate && typeof (candidate as ModelClass).getAttributeTypeMap === 'function' ? candidate as ModelClass : undefined;
}

function checkType(value: unknown, type: string, path: string, errors: string[]): void {
  if (value === undefined || value === null) return;
  if (type === 'string' || type === 'Date') { if (typeof value !== 'string') errors.push(`${path}: expected string, got ${typeof value}`); return; }
  if (type === 'number') { if (typeof value !== 'number' || !Number.isInteger(value)) errors.push(`${path}: expected integer`); return; }
  if (type === 'boolean') { if (typeof value !== 'boolean') errors.push(`${path}: expected boolean`); return; }
  if (type === 'IntOrString') { if (typeof value !== 'string' && typeof value !== 'number') errors.push(`${path}: expected int or string`); return; }
  if (type === 'any' || type === 'object') return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) { errors.push(`${path}: expected array`); return; }
    value.forEach((v, i) => checkType(v, array[1], `${path}[${i}]`, errors));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value !== 'object' || Array.isArray(value)) { errors.push(`${path}: expected map`); return; }
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) checkType(v, map[1], `${path}[${k}]`, errors);
    return;
  }
  const model = modelOf(type);
  if (!model) { errors.push(`${path}: unknown model type ${type}`); return; }
  if (typeof value !== 'object' || Array.isArray(value)) { errors.push(`${path}: expected object (${type})`); return; }
  const attributes = model.getAttributeTypeMap();
  const byName = new Map(attributes.map((a) => [a.baseName, a]));
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const a = byName.get(k);
    if (!a) { errors.push(`${path}.${k}: unknown field in ${type}`); continue; }
    checkType(v, a.type, `${path}.${k}`, errors);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

interface Obj { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: { controller?: boolean; uid?: string }[] }; [k: string]: unknown }

/** Problems the API server would report for these objects (empty = valid). */
export function validateObjects(objects: Obj[]): string[] {
  const errors: string[] = [];
  const byKind = (kind: string): Obj[] => objects.filter((o) => o.kind === kind);
  for (const o of objects) {
    const where = `${o.kind}/${o.metadata?.name}`;
    const modelName = MODELS[`${o.apiVersion}/${o.kind}`];
    if (!modelName) { errors.push(`${where}: unexpected apiVersion/kind ${o.apiVersion} ${o.kind}`); continue; }
    checkType(o, modelName, where, errors);
    const name = o.metadata?.name ?? '';
    const nameRule = o.kind === 'Service' || o.kind === 'StatefulSet' ? DNS_LABEL : DNS_SUBDOMAIN;
    if (!nameRule.test(name) || name.length > (o.kind === 'Service' || o.kind === 'StatefulSet' ? 63 : 253)) errors.push(`${where}: invalid name`);
    if (!o.metadata.namespace) errors.push(`${where}: namespace missing`);
    for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
      if (!LABEL_KEY.test(k) || k.split('/').pop()!.length > 63) errors.push(`${where}: invalid label key ${k}`);
      if (!LABEL_VALUE.test(v) || v.length > 63) errors.push(`${where}: invalid label value ${k}=${v}`);
    }
    if (!o.metadata.ownerReferences?.some((r) => r.controller && r.uid)) errors.push(`${where}: no controller ownerReference`);
    if (o.kind === 'ConfigMap') for (const k of Object.keys((o.data as Record<string, string>) ?? {})) if (!CONFIG_KEY.test(k)) errors.push(`${where}: invalid data key ${k}`);
    if (o.kind === 'Secret') for (const k of Object.keys((o.stringData as Record<string, string>) ?? {})) if (!CONFIG_KEY.test(k)) errors.push(`${where}: invalid stringData key ${k}`);
    if (o.kind === 'Deployment' || o.kind === 'StatefulSet') {
      const spec = o.spec as { replicas?: number; serviceName?: string; selector?: { matchLabels?: Record<string, string> }; template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: Record<string, unknown>[]; volumes?: { name: string; configMap?: { name: string } }[] } } };
      const matchLabels = spec.selector?.matchLabels ?? {};
      if (!Object.keys(matchLabels).length) errors.push(`${where}: empty selector`);
      for (const [k, v] of Object.entries(matchLabels)) if (spec.template?.metadata?.labels?.[k] !== v) errors.push(`${where}: selector ${k}=${v} does not match the template labels`);
      if (o.kind === 'StatefulSet') {
        const svc = byKind('Service').find((s) => s.metadata.name === spec.serviceName);
        if (!svc) errors.push(`${where}: serviceName ${spec.serviceName} has no Service`);
        else if ((svc.spec as { clusterIP?: string }).clusterIP !== 'None') errors.push(`${where}: governing Service is not headless`);
      }
      const containers = spec.template?.spec?.containers ?? [];
      if (!containers.length) errors.push(`${where}: no containers`);
      const volumes = new Map((spec.template?.spec?.volumes ?? []).map((v) => [v.name, v]));
      for (const v of volumes.values()) if (v.configMap && !byKind('ConfigMap').some((c) => c.metadata.name === v.configMap?.name)) errors.push(`${where}: volume ${v.name} names a missing ConfigMap`);
      const names = new Set<string>();
      const ports = new Set<number>();
      for (const c of containers as { name?: string; image?: string; env?: { name: string; value?: unknown; valueFrom?: unknown }[]; ports?: { name?: string; containerPort: number }[]; volumeMounts?: { name: string }[]; readinessProbe?: { httpGet?: { port: unknown } }; livenessProbe?: { httpGet?: { port: unknown } } }[]) {
        const cw = `${where} container ${c.name}`;
        if (!c.name || !DNS_LABEL.test(c.name) || c.name.length > 63) errors.push(`${cw}: invalid name`);
        if (names.has(c.name ?? '')) errors.push(`${cw}: duplicate container name`);
        names.add(c.name ?? '');
        if (!c.image) errors.push(`${cw}: image required`);
        for (const e of c.env ?? []) {
          if (!ENV_NAME.test(e.name)) errors.push(`${cw}: invalid env name ${e.name}`);
          if (e.value !== undefined && e.valueFrom !== undefined) errors.push(`${cw}: env ${e.name} has value and valueFrom`);
        }
        const portNames = new Set<string>();
        for (const p of c.ports ?? []) {
          if (!(p.containerPort > 0 && p.containerPort < 65536)) errors.push(`${cw}: port out of range`);
          if (ports.has(p.containerPort)) errors.push(`${cw}: port ${p.containerPort} used twice in the pod`);
          ports.add(p.containerPort);
          if (p.name) { if (p.name.length > 15) errors.push(`${cw}: port name too long`); portNames.add(p.name); }
        }
        for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) errors.push(`${cw}: mount of unknown volume ${m.name}`);
        for (const probe of [c.readinessProbe, c.livenessProbe]) {
          const port = probe?.httpGet?.port;
          if (typeof port === 'string' && !portNames.has(port)) errors.push(`${cw}: probe names unknown port ${port}`);
        }
      }
    }
    if (o.kind === 'Service') {
      const spec = o.spec as { selector?: Record<string, string>; ports?: { port: number }[] };
      if (!spec.ports?.length) errors.push(`${where}: no ports`);
      if (!Object.keys(spec.selector ?? {}).length) errors.push(`${where}: no selector`);
    }
  }
  return errors;
}
