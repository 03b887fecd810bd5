// Role-based access control with Kubernetes' semantics (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac): a request
// is allowed when some binding whose subject is the user grants a rule that covers it. Roles and bindings come from
// `--authorization-policy-file` (rbac.authorization.k8s.io/v1 manifests); there is no deny, only the absence of allow.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { RequestInfo, UserInfo } from './types';

export const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
}

export interface RoleRef {
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
}

export interface Role {
  name: string;
  /** Empty for ClusterRoles. */
  namespace: string;
  rules: PolicyRule[];
  labels: Record<string, string>;
  /** ClusterRoles only: gather the rules of every ClusterRole these selectors match. */
  aggregationSelectors?: LabelSelector[];
}

export interface Binding {
  name: string;
  /** Empty for ClusterRoleBindings. */
  namespace: string;
  subjects: Subject[];
  roleRef: RoleRef;
}

export interface RbacPolicy {
  roles: Role[];
  clusterRoles: Role[];
  roleBindings: Binding[];
  clusterRoleBindings: Binding[];
}

export function emptyPolicy(): RbacPolicy {
  return { roles: [], clusterRoles: [], roleBindings: [], clusterRoleBindings: [] };
}

// ---------------------------------------------------------------------------------------------------------------
// Matching (pure; k8s rbac/v1 helpers: VerbMatches, APIGroupMatches, ResourceMatches, ResourceNameMatches,
// NonResourceURLMatches).

function hasOrStar(list: string[] | undefined, value: string): boolean {
  return (list ?? []).some((item) => item === '*' || item === value);
}

/** `processors/status` needs `processors/status`, `*` or `*\/status`; plain `processors` does not cover it. */
export function resourceMatches(ruleResources: string[] | undefined, resource: string, subresource: string): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const ruleResource of ruleResources ?? []) {
    if (ruleResource === '*' || ruleResource === combined) return true;
    if (subresource && ruleResource === `*/${subresource}`) return true;
  }
  return false;
}

export function resourceNameMatches(ruleNames: string[] | undefined, name: string): boolean {
  if (!ruleNames || ruleNames.length === 0) return true;
  return name !== '' && ruleNames.includes(name);
}

/** `*` matches every path, `/apis/*` every path under `/apis/`, anything else only itself. */
export function nonResourceUrlMatches(ruleUrls: string[] | undefined, path: string): boolean {
  for (const ruleUrl of ruleUrls ?? []) {
    if (ruleUrl === '*' || ruleUrl === path) return true;
    if (ruleUrl.endsWith('*') && path.startsWith(ruleUrl.slice(0, -1))) return true;
  }
  return false;
}

export function ruleAllows(rule: PolicyRule, info: RequestInfo): boolean {
  if (!hasOrStar(rule.verbs, info.verb)) return false;
  if (!info.isResourceRequest) return nonResourceUrlMatches(rule.nonResourceURLs, info.path);
  return (
    hasOrStar(rule.apiGroups, info.apiGroup) &&
    resourceMatches(rule.resources, info.resource, info.subresource) &&
    resourceNameMatches(rule.resourceNames, info.name)
  );
}

/** The user name Kubernetes gives a service account. */
export function serviceAccountUserName(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** Does `subject` (of a binding in `bindingNamespace`, '' for cluster bindings) denote this user? */
export function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const namespace = subject.namespace || bindingNamespace;
      return namespace !== '' && serviceAccountUserName(namespace, subject.name) === user.name;
    }
    default:
      return false;
  }
}

function labelsMatch(selector: LabelSelector, labels: Record<string, string>): boolean {
  const wanted = Object.entries(selector.matchLabels ?? {});
  // An empty selector would select every ClusterRole; Kubernetes' aggregation controller skips it, and so do we.
  return wanted.length > 0 && wanted.every(([key, value]) => labels[key] === value);
}

/** Answers authorization questions against one loaded policy. */
export class RbacAuthorizer {
  private readonly clusterRoleRules = new Map<string, PolicyRule[]>();
  private readonly roleRules = new Map<string, PolicyRule[]>();

  constructor(private readonly policy: RbacPolicy) {
    for (const role of policy.roles) this.roleRules.set(`${role.namespace}/${role.name}`, role.rules);
    for (const role of policy.clusterRoles) this.clusterRoleRules.set(role.name, this.aggregatedRules(role));
  }

  private aggregatedRules(role: Role): PolicyRule[] {
    if (!role.aggregationSelectors || role.aggregationSelectors.length === 0) return role.rules;
    const rules = [...role.rules];
    for (const other of this.policy.clusterRoles) {
      if (other.name === role.name) continue;
      if (role.aggregationSelectors.some((selector) => labelsMatch(selector, other.labels))) rules.push(...other.rules);
    }
    return rules;
  }

  private rulesFor(ref: RoleRef, bindingNamespace: string): PolicyRule[] {
    if (ref.kind === 'ClusterRole') return this.clusterRoleRules.get(ref.name) ?? [];
    return this.roleRules.get(`${bindingNamespace}/${ref.name}`) ?? [];
  }

  /** True when some binding grants the user a rule covering the request. */
  allows(user: UserInfo, info: RequestInfo): boolean {
    const granted = (binding: Binding): boolean =>
      binding.subjects.some((subject) => subjectMatches(subject, user, binding.namespace)) &&
      this.rulesFor(binding.roleRef, binding.namespace).some((rule) => ruleAllows(rule, info));

    if (this.policy.clusterRoleBindings.some(granted)) return true;
    // Namespaced bindings grant only inside their namespace, so they never cover cluster-scoped or non-resource
    // requests; a RoleBinding to a ClusterRole grants that ClusterRole's rules within the binding's namespace.
    if (!info.isResourceRequest || info.namespace === '') return false;
    return this.policy.roleBindings.some((binding) => binding.namespace === info.namespace && granted(binding));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Loading.

export class PolicyFileError extends Error {}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown, where: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new PolicyFileError(`${where}: must be a list of strings`);
  }
  return value as string[];
}

function requiredString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new PolicyFileError(`${where}: required string`);
  return value;
}

function parseRules(value: unknown, where: string): PolicyRule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PolicyFileError(`${where}: must be a list`);
  return value.map((item: unknown, index) => {
    const at = `${where}[${index}]`;
    if (!isObject(item)) throw new PolicyFileError(`${at}: must be an object`);
    const verbs = stringList(item.verbs, `${at}.verbs`);
    if (!verbs || verbs.length === 0) throw new PolicyFileError(`${at}.verbs: at least one verb is required`);
    const rule: PolicyRule = { verbs };
    const apiGroups = stringList(item.apiGroups, `${at}.apiGroups`);
    const resources = stringList(item.resources, `${at}.resources`);
    const resourceNames = stringList(item.resourceNames, `${at}.resourceNames`);
    const nonResourceURLs = stringList(item.nonResourceURLs, `${at}.nonResourceURLs`);
    if (apiGroups) rule.apiGroups = apiGroups;
    if (resources) rule.resources = resources;
    if (resourceNames) rule.resourceNames = resourceNames;
    if (nonResourceURLs) rule.nonResourceURLs = nonResourceURLs;
    if (!resources?.length && !nonResourceURLs?.length) {
      throw new PolicyFileError(`${at}: a rule needs resources or nonResourceURLs`);
    }
    return rule;
  });
}

function parseSubjects(value: unknown, where: string): Subject[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PolicyFileError(`${where}: must be a list`);
  return value.map((item: unknown, index) => {
    const at = `${where}[${index}]`;
    if (!isObject(item)) throw new PolicyFileError(`${at}: must be an object`);
    const kind = item.kind;
    if (kind !== 'User' && kind !== 'Group' && kind !== 'ServiceAccount') {
      throw new PolicyFileError(`${at}.kind: must be User, Group or ServiceAccount`);
    }
    const subject: Subject = { kind, name: requiredString(item.name, `${at}.name`) };
    if (typeof item.namespace === 'string' && item.namespace !== '') subject.namespace = item.namespace;
    return subject;
  });
}

function parseRoleRef(value: unknown, where: string, allowRole: boolean): RoleRef {
  if (!isObject(value)) throw new PolicyFileError(`${where}: required`);
  const kind = value.kind;
  if (kind !== 'ClusterRole' && !(allowRole && kind === 'Role')) {
    throw new PolicyFileError(`${where}.kind: must be ${allowRole ? 'Role or ClusterRole' : 'ClusterRole'}`);
  }
  return { kind, name: requiredString(value.name, `${where}.name`) };
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  return out;
}

/** Adds one manifest object to the policy; returns a warning for objects that are not RBAC kinds. */
function addObject(policy: RbacPolicy, object: Json, where: string): string | undefined {
  const kind = object.kind;
  if (kind === 'List' && Array.isArray(object.items)) {
    object.items.forEach((item: unknown, index) => {
      if (!isObject(item)) throw new PolicyFileError(`${where}.items[${index}]: must be an object`);
      addObject(policy, item, `${where}.items[${index}]`);
    });
    return undefined;
  }
  if (kind !== 'Role' && kind !== 'ClusterRole' && kind !== 'RoleBinding' && kind !== 'ClusterRoleBinding') {
    return `${where}: ignoring ${String(kind)} (not an RBAC kind)`;
  }
  if (object.apiVersion !== RBAC_API_VERSION) {
    throw new PolicyFileError(`${where}: apiVersion must be ${RBAC_API_VERSION}, got ${JSON.stringify(object.apiVersion)}`);
  }
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const name = requiredString(metadata.name, `${where}.metadata.name`);
  const clusterScoped = kind === 'ClusterRole' || kind === 'ClusterRoleBinding';
  const namespace = clusterScoped ? '' : requiredString(metadata.namespace, `${where}.metadata.namespace`);
  switch (kind) {
    case 'Role':
    case 'ClusterRole': {
      const role: Role = { name, namespace, rules: parseRules(object.rules, `${where}.rules`), labels: stringMap(metadata.labels) };
      const aggregation = isObject(object.aggregationRule) ? object.aggregationRule.clusterRoleSelectors : undefined;
      if (kind === 'ClusterRole' && Array.isArray(aggregation)) {
        role.aggregationSelectors = aggregation.filter(isObject).map((s) => ({ matchLabels: stringMap(s.matchLabels) }));
      }
      (kind === 'Role' ? policy.roles : policy.clusterRoles).push(role);
      return undefined;
    }
    case 'RoleBinding':
    case 'ClusterRoleBinding': {
      const binding: Binding = {
        name,
        namespace,
        subjects: parseSubjects(object.subjects, `${where}.subjects`),
        roleRef: parseRoleRef(object.roleRef, `${where}.roleRef`, kind === 'RoleBinding'),
      };
      (kind === 'RoleBinding' ? policy.roleBindings : policy.clusterRoleBindings).push(binding);
      return undefined;
    }
  }
}

/** Parses YAML or JSON text with any number of documents (`---`), or `kind: List`. */
export function parsePolicy(text: string, source = 'policy'): { policy: RbacPolicy; warnings: string[] } {
  const policy = emptyPolicy();
  const warnings: string[] = [];
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, index) => {
    const where = `${source} document ${index + 1}`;
    if (document.errors.length > 0) throw new PolicyFileError(`${where}: ${document.errors[0].message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    if (!isObject(value)) throw new PolicyFileError(`${where}: must be an object`);
    const warning = addObject(policy, value, where);
    if (warning) warnings.push(warning);
  });
  return { policy, warnings };
}

export function loadPolicyFile(path: string): { policy: RbacPolicy; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PolicyFileError(`cannot read --authorization-policy-file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parsePolicy(text, path);
}

/** Merges policies (the built-in bootstrap roles plus the file's). */
export function mergePolicies(...policies: RbacPolicy[]): RbacPolicy {
  const merged = emptyPolicy();
  for (const policy of policies) {
    merged.roles.push(...policy.roles);
    merged.clusterRoles.push(...policy.clusterRoles);
    merged.roleBindings.push(...policy.roleBindings);
    merged.clusterRoleBindings.push(...policy.clusterRoleBindings);
  }
  return merged;
}

/**
 * What kube-apiserver's bootstrap policy grants everyone: `system:discovery` (discovery and OpenAPI for
 * authenticated users) and `system:public-info-viewer` (health and version for all). With anonymous access turned on
 * we bind discovery to unauthenticated users as well: discovery is the only thing anonymous access exists for here.
 */
export function bootstrapPolicy(opts: { anonymousDiscovery: boolean }): RbacPolicy {
  const discoveryGroups = opts.anonymousDiscovery ? ['system:authenticated', 'system:unauthenticated'] : ['system:authenticated'];
  const group = (name: string): Subject => ({ kind: 'Group', name });
  return {
    roles: [],
    roleBindings: [],
    clusterRoles: [
      {
        name: 'system:discovery',
        namespace: '',
        labels: {},
        rules: [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/openapi', '/openapi/*', '/version', '/version/'] }],
      },
      {
        name: 'system:public-info-viewer',
        namespace: '',
        labels: {},
        rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }],
      },
    ],
    clusterRoleBindings: [
      { name: 'system:discovery', namespace: '', subjects: discoveryGroups.map(group), roleRef: { kind: 'ClusterRole', name: 'system:discovery' } },
      {
        name: 'system:public-info-viewer',
        namespace: '',
        subjects: ['system:authenticated', 'system:unauthenticated'].map(group),
        roleRef: { kind: 'ClusterRole', name: 'system:public-info-viewer' },
      },
    ],
  };
}
