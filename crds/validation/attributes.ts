// Semantic rules for a Processor's `spec.attributes`: every srp.* value is checked by the syntax its catalogue entry
// (crds/attributes.ts) declares, then the combinations (window type vs slide/gap, late mode vs late stream...).
// Unknown srp.* keys are warnings, not errors, so manifests written for other versions still apply.

import { closestSrpAttribute, SRP_ATTRIBUTE_PREFIX, srpAttribute, type AttributeSpec } from '../attributes';
import { checkJsonata, parseDuration, parseEnvs, parseOutputHeaders, parseSpel } from '../expressions';
import type { ParseResult } from '../expressions';
import type { ProcessorType } from '../types';
import { invalid, key, notSupported, required, type FieldIssue, type ValidationResult } from './field-issue';
import { dns1123SubdomainProblems } from './names';
import { isHttpUrl } from './values';
import { ATTRIBUTE_WINDOW_STATE, resolveStateType, STATE_TYPES } from '../window-state';

export interface AttributeContext {
  /** Effective processor type (spec.type, default SRP). */
  type: ProcessorType;
  /** Whether the processor declares containers (UDF sidecars for SRP). */
  hasContainers: boolean;
}

/** Checks `attributes` (the value of spec.attributes) reporting under `field` (normally "spec.attributes"). */
export function validateAttributes(attributes: unknown, field: string, context: AttributeContext): ValidationResult {
  const result: ValidationResult = { errors: [], warnings: [] };
  if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) return result;
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(attributes as Record<string, unknown>)) {
    if (!name.startsWith(SRP_ATTRIBUTE_PREFIX)) continue; // free-form
    const path = key(field, name);
    const spec = srpAttribute(name);
    if (!spec) {
      const suggestion = closestSrpAttribute(name);
      result.warnings.push(
        invalid(path, value, `unknown SRP attribute${suggestion ? ` (did you mean ${JSON.stringify(suggestion)}?)` : ''}; it is ignored`),
      );
      continue;
    }
    if (typeof value !== 'string') continue; // the schema reports non-string values
    values.set(name, value);
    if (!spec.appliesTo.includes(context.type)) {
      result.warnings.push(invalid(path, value, `only ${spec.appliesTo.join('/')} processors read this attribute; it is ignored by ${context.type}`));
    }
    const issue = checkValue(spec, value, path);
    if (issue) result.errors.push(issue);
  }
  checkCombinations(values, field, context, result);
  return result;
}

function checkValue(spec: AttributeSpec, value: string, path: string): FieldIssue | undefined {
  switch (spec.syntax) {
    case 'duration':
      return fromParse(parseDuration(value), path, value, 'a valid duration');
    case 'enum':
      return spec.allowedValues?.includes(value) ? undefined : notSupported(path, value, spec.allowedValues ?? []);
    case 'boolean':
      return value === 'true' || value === 'false' ? undefined : notSupported(path, value, ['true', 'false']);
    case 'positiveInteger':
      return /^\s*[1-9]\d*\s*$/.test(value) && Number.isSafeInteger(Number(value))
        ? undefined
        : invalid(path, value, 'must be a positive whole number');
    case 'port': {
      const port = Number(value);
      return /^\s*\d+\s*$/.test(value) && port >= 1 && port <= 65535
        ? undefined
        : invalid(path, value, 'must be a port number between 1 and 65535, inclusive');
    }
    case 'spel':
      return fromParse(parseSpel(value), path, value, 'a valid SpEL expression');
    case 'jsonata':
      return fromParse(checkJsonata(value), path, value, 'a valid JSONata expression');
    case 'outputHeaders':
      return fromParse(parseOutputHeaders(value), path, value, 'a valid header list (name=expression;...)');
    case 'envs':
      return fromParse(parseEnvs(value), path, value, 'a valid variable list (NAME=VALUE;...)');
    case 'streamName': {
      const problems = dns1123SubdomainProblems(value);
      return problems.length ? invalid(path, value, `must be the name of a Stream: ${problems.join('; ')}`) : undefined;
    }
    case 'url':
      return isHttpUrl(value.trim()) ? undefined : invalid(path, value, 'must be an http:// or https:// URL, e.g. http://registry:8081');
    case 'timestampExpression':
      return checkTimestampExpression(value, path);
  }
}

/** A parser's error as an issue; the parsers' messages already say what was expected. */
function fromParse(result: ParseResult<unknown>, path: string, value: string, what: string): FieldIssue | undefined {
  if (result.ok) return undefined;
  return invalid(path, value, `not ${what}: ${result.error} (at offset ${result.offset})`, result.offset);
}

function checkTimestampExpression(value: string, path: string): FieldIssue | undefined {
  const text = value.trim();
  if (text === '') return invalid(path, value, 'must not be empty: use proc, header.<name> or payload.<field path>', 0);
  if (text === 'proc') return undefined;
  const body = text.startsWith('header.') ? text.slice('header.'.length) : text.startsWith('payload.') ? text.slice('payload.'.length) : text;
  const bad = body.search(/[^A-Za-z0-9_.$\-[\]'*]/);
  if (body === '' || bad >= 0) {
    const offset = value.indexOf(body) + Math.max(bad, 0);
    return invalid(path, value, 'must be proc, header.<name>, payload.<field path> or a field path', offset);
  }
  return undefined;
}

/** Rules spanning several attributes. */
function checkCombinations(values: Map<string, string>, field: string, context: AttributeContext, result: ValidationResult): void {
  // The state type can be chosen three ways (srp.window.state, srp.envs SRP_PROCESSOR_STATETYPE / STATE_TYPE); the
  // processor refuses contradicting ones at start, so they are refused here first.
  const envs = values.get('srp.envs');
  const explicit = values.get(ATTRIBUTE_WINDOW_STATE);
  const reportedAlready = (envs !== undefined && !parseEnvs(envs).ok) || (explicit !== undefined && !(STATE_TYPES as readonly string[]).includes(explicit));
  try {
    if (!reportedAlready) resolveStateType(Object.fromEntries(values));
  } catch (err) {
    const at = values.has(ATTRIBUTE_WINDOW_STATE) ? ATTRIBUTE_WINDOW_STATE : 'srp.envs';
    result.errors.push(invalid(key(field, at), values.get(at) ?? '', err instanceof Error ? err.message : String(err)));
  }
  const windowType = values.get('srp.window.type') ?? 'TUMBLING';
  const has = (name: string): boolean => values.has(name);
  const durationOf = (name: string): number | undefined => {
    const text = values.get(name);
    const parsed = text === undefined ? undefined : parseDuration(text);
    return parsed?.ok ? parsed.value : undefined;
  };
  if (windowType === 'SLIDING') {
    if (!has('srp.window')) result.errors.push(required(key(field, 'srp.window'), 'SLIDING windows need a window size'));
    if (!has('srp.window.slide')) result.errors.push(required(key(field, 'srp.window.slide'), 'SLIDING windows need a slide interval'));
    const size = durationOf('srp.window');
    const slide = durationOf('srp.window.slide');
    if (size !== undefined && slide !== undefined && (slide === 0 || slide > size)) {
      result.errors.push(invalid(key(field, 'srp.window.slide'), values.get('srp.window.slide'), 'must be greater than 0 and not longer than srp.window'));
    }
  } else if (has('srp.window.slide')) {
    result.warnings.push(invalid(key(field, 'srp.window.slide'), values.get('srp.window.slide'), 'only used by SLIDING windows (srp.window.type); it is ignored'));
  }
  if (windowType === 'SESSION') {
    if (!has('srp.window.gap')) result.errors.push(required(key(field, 'srp.window.gap'), 'SESSION windows need an inactivity gap'));
  } else if (has('srp.window.gap')) {
    result.warnings.push(invalid(key(field, 'srp.window.gap'), values.get('srp.window.gap'), 'only used by SESSION windows (srp.window.type); it is ignored'));
  }
  if (durationOf('srp.window') === 0) {
    result.errors.push(invalid(key(field, 'srp.window'), values.get('srp.window'), 'a window must be longer than 0'));
  }
  const windowed = has('srp.window') || windowType === 'SESSION';
  if (!windowed) {
    for (const name of ['srp.window.type', 'srp.window.idle.timeout', 'srp.window.maxState', 'srp.window.state']) {
      if (has(name)) result.warnings.push(invalid(key(field, name), values.get(name), 'has no effect without srp.window'));
    }
  }
  if (has('srp.output.late') && (values.get('srp.lateEventMode') ?? 'DROP') !== 'SIDE_CHANNEL') {
    result.warnings.push(invalid(key(field, 'srp.output.late'), values.get('srp.output.late'), 'only used when srp.lateEventMode is SIDE_CHANNEL; it is ignored'));
  }
  if (context.type === 'SRP' && !context.hasContainers && values.get('srp.skipUdf') === 'false') {
    result.warnings.push(invalid(key(field, 'srp.skipUdf'), 'false', 'the processor declares no containers, so there is no user-defined function to call'));
  }
}
