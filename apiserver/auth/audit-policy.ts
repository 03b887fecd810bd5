// `--audit-policy-file`: kube-apiserver's audit.k8s.io/v1 Policy, read with the same rules (k8s.io/apiserver
// pkg/audit/policy): the first rule that matches a request decides its level (None, Metadata, Request,
// RequestResponse); no matching rule means None. A rule matches when every list it sets matches: users, userGroups
// (any group), verbs, and either resources/namespaces or nonResourceURLs. Stages listed in the policy's or the
// rule's omitStages are not written. The file is validated at startup; an error names the field, e.g.
// `rules[2].level: Unsupported value: "Everything"`.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { RequestInfo, UserInfo } from './types';

export const AUDIT_LEVELS = ['None', 'Metadata', 'Request', 'RequestResponse'] as const;
export type AuditLevel = (typeof AUDIT_LEVELS)[number];
export const AUDIT_STAGES = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const;
export type AuditStage = (typeof AUDIT_STAGES)[number];

export interface GroupResources {
  group: string;
  resources: string[];
  resourceNames: string[];
}

export interface PolicyRule {
  level: AuditLevel;
  users: string[];
  userGroups: string[];
  verbs: string[];
  resources: GroupResources[];
  namespaces: string[];
  nonResourceURLs: string[];
  omitStages: AuditStage[];
  omitManagedFields?: boolean;
}

export interface AuditPolicy {
  rules: PolicyRule[];
  omitStages: AuditStage[];
  omitManagedFields: boolean;
}

/** What the policy decided for one request. */
export interface AuditDecision {
  level: AuditLevel;
  omitStages: AuditStage[];
  omitManagedFields: boolean;
}

/** Without a policy file every request is audited at Metadata (the documented behaviour of `--audit-log-path` alone). */
export const METADATA_FOR_EVERYTHING: AuditPolicy = { rules: [{ level: 'Metadata', users: [], userGroups: [], verbs: [], resources: [], namespaces: [], nonResourceURLs: [], omitStages: [] }], omitStages: [], omitManagedFields: false };

class PolicyError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PolicyError(`${field}: Invalid value: must be a list of strings`);
  return value.map((item, i) => {
    if (typeof item !== 'string') throw new PolicyError(`${field}[${i}]: Invalid value: ${JSON.stringify(item)}: must be a string`);
    return item;
  });
}

function stages(value: unknown, field: string): AuditStage[] {
  return stringList(value, field).map((stage, i) => {
    if (!(AUDIT_STAGES as readonly string[]).includes(stage)) {
      throw new PolicyError(`${field}[${i}]: Unsupported value: ${JSON.stringify(stage)}: supported values: ${AUDIT_STAGES.map((s) => `"${s}"`).join(', ')}`);
    }
    return stage as AuditStage;
  });
}

function optionalBoolean(value: unknown, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new PolicyError(`${field}: Invalid value: ${JSON.stringify(value)}: must be true or false`);
  return value;
}

const RULE_FIELDS = new Set(['level', 'users', 'userGroups', 'verbs', 'resources', 'namespaces', 'nonResourceURLs', 'omitStages', 'omitManagedFields']);
const POLICY_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'rules', 'omitStages', 'omitManagedFields']);

function parseRule(value: unknown, field: string): PolicyRule {
  if (!isRecord(value)) throw new PolicyError(`${field}: Invalid value: a rule must be a mapping`);
  for (const key of Object.keys(value)) if (!RULE_FIELDS.has(key)) throw new PolicyError(`${field}.${key}: Unsupported field`);
  if (value.level === undefined) throw new PolicyError(`${field}.level: Required value`);
  if (typeof value.level !== 'string' || !(AUDIT_LEVELS as readonly string[]).includes(value.level)) {
    throw new PolicyError(`${field}.level: Unsupported value: ${JSON.stringify(value.level)}: supported values: ${AUDIT_LEVELS.map((l) => `"${l}"`).join(', ')}`);
  }
  const resources: GroupResources[] = [];
  if (value.resources !== undefined && value.resources !== null) {
    if (!Array.isArray(value.resources)) throw new PolicyError(`${field}.resources: Invalid value: must be a list of {group, resources, resourceNames}`);
    value.resources.forEach((entry: unknown, i: number) => {
      const at = `${field}.resources[${i}]`;
      if (!isRecord(entry)) throw new PolicyError(`${at}: Invalid value: must be a mapping`);
      for (const key of Object.keys(entry)) if (!['group', 'resources', 'resourceNames'].includes(key)) throw new PolicyError(`${at}.${key}: Unsupported field`);
      if (entry.group !== undefined && typeof entry.group !== 'string') throw new PolicyError(`${at}.group: Invalid value: ${JSON.stringify(entry.group)}: must be a string`);
      const names = stringList(entry.resources, `${at}.resources`);
      names.forEach((name, j) => {
        // kube: "*", "resource", "resource/subresource", "*/subresource", "resource/*"; nothing else has a slash.
        if (name.split('/').length > 2 || name === '' || name.startsWith('/') || name.endsWith('/')) throw new PolicyError(`${at}.resources[${j}]: Invalid value: ${JSON.stringify(name)}`);
      });
      resources.push({ group: typeof entry.group === 'string' ? entry.group : '', resources: names, resourceNames: stringList(entry.resourceNames, `${at}.resourceNames`) });
    });
  }
  const namespaces = stringList(value.namespaces, `${field}.namespaces`);
  const nonResourceURLs = stringList(value.nonResourceURLs, `${field}.nonResourceURLs`);
  if (nonResourceURLs.length > 0 && (resources.length > 0 || namespaces.length > 0)) {
    throw new PolicyError(`${field}.nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs`);
  }
  nonResourceURLs.forEach((url, i) => {
    if (url !== '*' && (!url.startsWith('/') || url.slice(0, -1).includes('*'))) {
      throw new PolicyError(`${field}.nonResourceURLs[${i}]: Invalid value: ${JSON.stringify(url)}: must be "*" or start with "/", with "*" only at the end`);
    }
  });
  const rule: PolicyRule = {
    level: value.level as AuditLevel,
    users: stringList(value.users, `${field}.users`),
    userGroups: stringList(value.userGroups, `${field}.userGroups`),
    verbs: stringList(value.verbs, `${field}.verbs`),
    resources,
    namespaces,
    nonResourceURLs,
    omitStages: stages(value.omitStages, `${field}.omitStages`),
  };
  const omitManagedFields = optionalBoolean(value.omitManagedFields, `${field}.omitManagedFields`);
  if (omitManagedFields !== undefined) rule.omitManagedFields = omitManagedFields;
  return rule;
}

/** Parses and validates a Policy document (YAML or JSON text); `source` names it in errors. */
export function parseAuditPolicy(text: string, source: string): AuditPolicy {
  const fail = (message: string): never => { throw new Error(`--audit-policy-file ${source}: ${message}`); };
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return fail('not a YAML document');
  const parsed = documents.filter((doc) => doc.contents !== null);
  if (parsed.length !== 1) return fail(`expected one Policy document, found ${parsed.length}`);
  const doc = parsed[0];
  if (doc.errors.length > 0) return fail(`not valid YAML: ${doc.errors[0].message}`);
  const value: unknown = doc.toJS();
  try {
    if (!isRecord(value)) throw new PolicyError('Invalid value: the policy must be a mapping');
    if (value.apiVersion !== 'audit.k8s.io/v1') throw new PolicyError(`apiVersion: Unsupported value: ${JSON.stringify(value.apiVersion)}: supported values: "audit.k8s.io/v1"`);
    if (value.kind !== 'Policy') throw new PolicyError(`kind: Unsupported value: ${JSON.stringify(value.kind)}: supported values: "Policy"`);
    for (const key of Object.keys(value)) if (!POLICY_FIELDS.has(key)) throw new PolicyError(`${key}: Unsupported field`);
    if (value.rules !== undefined && value.rules !== null && !Array.isArray(value.rules)) throw new PolicyError('rules: Invalid value: must be a list');
    const rules = ((value.rules as unknown[] | undefined) ?? []).map((rule, i) => parseRule(rule, `rules[${i}]`));
    return { rules, omitStages: stages(value.omitStages, 'omitStages'), omitManagedFields: optionalBoolean(value.omitManagedFields, 'omitManagedFields') ?? false };
  } catch (err) {
    if (err instanceof PolicyError) return fail(err.message);
    throw err;
  }
}

export function loadAuditPolicyFile(path: string): AuditPolicy {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read --audit-policy-file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseAuditPolicy(text, path);
}

/** kube's pathMatches: "*", the exact path, or a prefix ending in "*". */
function pathMatches(path: string, spec: string): boolean {
  if (spec === '*' || spec === path) return true;
  return spec.endsWith('*') && path.startsWith(spec.slice(0, -1));
}

function resourceMatches(rule: PolicyRule, info: RequestInfo): boolean {
  if (!info.isResourceRequest) return false;
  // Cluster-scoped resources have the empty namespace, which a rule can name as "".
  if (rule.namespaces.length > 0 && !rule.namespaces.includes(info.namespace)) return false;
  if (rule.resources.length === 0) return true;
  const combined = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  for (const gr of rule.resources) {
    if (gr.group !== info.apiGroup) continue;
    if (gr.resources.length === 0) return true;
    if (gr.resourceNames.length > 0 && !gr.resourceNames.includes(info.name)) continue;
    for (const res of gr.resources) {
      if (res === combined || res === '*') return true;
      if (info.subresource && res.startsWith('*/') && info.subresource === res.slice(2)) return true;
      if (res.endsWith('/*') && info.resource === res.slice(0, -2)) return true;
    }
  }
  return false;
}

function ruleMatches(rule: PolicyRule, user: UserInfo | undefined, info: RequestInfo): boolean {
  if (rule.users.length > 0 && !(user && rule.users.includes(user.name))) return false;
  if (rule.userGroups.length > 0 && !(user && user.groups.some((group) => rule.userGroups.includes(group)))) return false;
  if (rule.verbs.length > 0 && !rule.verbs.includes(info.verb)) return false;
  if (rule.namespaces.length === 0 && rule.resources.length === 0) {
    return rule.nonResourceURLs.length === 0 || (!info.isResourceRequest && rule.nonResourceURLs.some((spec) => pathMatches(info.path, spec)));
  }
  return resourceMatches(rule, info);
}

/** The level and omitted stages for a request of `user` (the authenticated user, before impersonation). */
export function decideAuditLevel(policy: AuditPolicy, user: UserInfo | undefined, info: RequestInfo): AuditDecision {
  for (const rule of policy.rules) {
    if (!ruleMatches(rule, user, info)) continue;
    return {
      level: rule.level,
      omitStages: Array.from(new Set([...policy.omitStages, ...rule.omitStages])),
      omitManagedFields: rule.omitManagedFields ?? policy.omitManagedFields,
    };
  }
  return { level: 'None', omitStages: policy.omitStages, omitManagedFields: policy.omitManagedFields };
}
