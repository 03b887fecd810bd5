// Semantic rules of a Processor: inputs/outputs name Streams (unique), what each type needs (SRP an input, FSQL
// queries, SCS containers), inlineQuery vs template, containers (names, image or command, ports, env), replicas,
// and the srp.* attributes (validation/attributes.ts).

import type { ProcessorType } from '../types';
import { validateAttributes } from './attributes';
import {
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  required,
  type FieldIssue,
  type ValidationResult,
} from './field-issue';
import { dns1123LabelProblems, dns1123SubdomainProblems, envVarNameProblems, portNameProblems } from './names';
import { arrayOf, isRecord, recordOf, stringOf, type JsonObject } from './values';

const PROCESSOR_TYPES: readonly ProcessorType[] = ['SRP', 'SCS', 'FSQL'];

export function validateProcessor(obj: JsonObject): ValidationResult {
  const result: ValidationResult = { errors: [], warnings: [] };
  const spec = recordOf(obj.spec);
  const type: ProcessorType = PROCESSOR_TYPES.find((t) => t === spec.type) ?? 'SRP';
  const errors = result.errors;

  // The original's test manifests list streams under `sources` (upgraded by defaulting; see legacy.ts).
  const inputList = legacySources(spec.inputs);
  const outputList = legacySources(spec.outputs);
  const inputs = validateStreamRefs(inputList, 'spec.inputs', errors);
  const outputs = validateStreamRefs(outputList, 'spec.outputs', errors);
  for (const name of inputs.filter((n) => outputs.includes(n))) {
    const i = outputs.indexOf(name);
    result.warnings.push(invalid(child(index('spec.outputs', i), 'name'), name, 'the processor also reads this Stream: its output feeds back into its input'));
  }

  const replicas = spec.replicas;
  if (typeof replicas === 'number' && (!Number.isInteger(replicas) || replicas < 0)) {
    errors.push(invalid('spec.replicas', replicas, 'must be greater than or equal to 0'));
  }

  const containers = arrayOf(recordOf(recordOf(spec.template).spec).containers);
  const hasTemplate = spec.template !== undefined && spec.template !== null;
  const hasQuery = Array.isArray(spec.inlineQuery) && spec.inlineQuery.length > 0;
  if (hasTemplate && hasQuery) {
    if (type === 'FSQL') errors.push(forbidden('spec.template', 'may not be set together with spec.inlineQuery: FSQL processors run queries, not containers'));
    else errors.push(forbidden('spec.inlineQuery', 'may not be set together with spec.template: only FSQL processors run queries'));
  } else if (hasQuery && type !== 'FSQL') {
    result.warnings.push(invalid('spec.inlineQuery', spec.inlineQuery, `only FSQL processors run queries; it is ignored by ${type}`));
  }

  switch (type) {
    case 'SRP':
      if (inputList === undefined || inputList === null) {
        errors.push(required('spec.inputs', 'an SRP processor reads at least one input Stream'));
      } else if (Array.isArray(inputList) && inputList.length === 0) {
        errors.push(invalid('spec.inputs', inputList, 'an SRP processor reads at least one input Stream'));
      }
      if (!Array.isArray(outputList) || outputList.length === 0) {
        result.warnings.push(required('spec.outputs', 'without outputs the processor consumes messages and produces nothing'));
      }
      break;
    case 'FSQL':
      if (!hasQuery) errors.push(required('spec.inlineQuery', 'an FSQL processor runs at least one SQL statement'));
      validateQueries(spec.inlineQuery, errors);
      break;
    case 'SCS':
      if (containers.length === 0) {
        errors.push(required('spec.template.spec.containers', 'an SCS processor runs at least one container'));
      }
      break;
  }

  validateContainers(containers, 'spec.template.spec.containers', errors);
  const attributes = validateAttributes(spec.attributes, 'spec.attributes', { type, hasContainers: containers.length > 0 });
  errors.push(...attributes.errors);
  result.warnings.push(...attributes.warnings);
  return result;
}

function legacySources(list: unknown): unknown {
  return isRecord(list) && Array.isArray(list.sources) ? list.sources : list;
}

/** Checks a list of `{name}` Stream references and returns the names. */
function validateStreamRefs(list: unknown, field: string, errors: FieldIssue[]): string[] {
  const names: string[] = [];
  arrayOf(list).forEach((entry, i) => {
    const path = child(index(field, i), 'name');
    const name = stringOf(recordOf(entry).name);
    if (name === undefined) return; // the schema reports a missing or non-string name
    for (const problem of dns1123SubdomainProblems(name)) errors.push(invalid(path, name, `must be the name of a Stream: ${problem}`));
    if (names.includes(name)) errors.push(duplicate(path, name));
    names.push(name);
  });
  return names;
}

const STREAM_PLACEHOLDER = /\[\[STREAM:([^\]]*)\]\]/g;

function validateQueries(queries: unknown, errors: FieldIssue[]): void {
  arrayOf(queries).forEach((query, i) => {
    const path = index('spec.inlineQuery', i);
    if (typeof query !== 'string') return;
    if (query.trim() === '') {
      errors.push(invalid(path, query, 'must be a SQL statement'));
      return;
    }
    for (const match of query.matchAll(STREAM_PLACEHOLDER)) {
      const name = match[1].trim();
      const problems = dns1123SubdomainProblems(name);
      if (problems.length) {
        const offset = (match.index ?? 0) + '[[STREAM:'.length;
        errors.push(invalid(path, query, `[[STREAM:${match[1]}]] must name a Stream: ${problems.join('; ')}`, offset));
      }
    }
  });
}

function validateContainers(containers: unknown[], field: string, errors: FieldIssue[]): void {
  const names: string[] = [];
  containers.forEach((entry, i) => {
    const path = index(field, i);
    if (!isRecord(entry)) return;
    const name = stringOf(entry.name);
    if (name !== undefined) {
      for (const problem of dns1123LabelProblems(name)) errors.push(invalid(child(path, 'name'), name, problem));
      if (names.includes(name)) errors.push(duplicate(child(path, 'name'), name));
      names.push(name);
    }
    const image = stringOf(entry.image);
    const hasCommand = Array.isArray(entry.command) && entry.command.length > 0;
    if ((image === undefined || image.trim() === '') && !hasCommand) {
      errors.push(required(child(path, 'image'), 'a container needs an image (Kubernetes) or a command (local runtime)'));
    }
    validatePorts(entry.ports, child(path, 'ports'), errors);
    validateEnv(entry.env, child(path, 'env'), errors);
  });
}

function validatePorts(ports: unknown, field: string, errors: FieldIssue[]): void {
  const names: string[] = [];
  arrayOf(ports).forEach((entry, i) => {
    const path = index(field, i);
    const port = recordOf(entry);
    const number = port.containerPort;
    if (typeof number === 'number' && (!Number.isInteger(number) || number < 1 || number > 65535)) {
      errors.push(invalid(child(path, 'containerPort'), number, 'must be between 1 and 65535, inclusive'));
    }
    const name = stringOf(port.name);
    if (name !== undefined) {
      for (const problem of portNameProblems(name)) errors.push(invalid(child(path, 'name'), name, problem));
      if (names.includes(name)) errors.push(duplicate(child(path, 'name'), name));
      names.push(name);
    }
  });
}

function validateEnv(env: unknown, field: string, errors: FieldIssue[]): void {
  arrayOf(env).forEach((entry, i) => {
    const path = index(field, i);
    const variable = recordOf(entry);
    const name = stringOf(variable.name);
    if (name !== undefined) {
      for (const problem of envVarNameProblems(name)) errors.push(invalid(child(path, 'name'), name, problem));
    }
    const value = stringOf(variable.value);
    if (value !== undefined && value !== '' && variable.valueFrom !== undefined && variable.valueFrom !== null) {
      errors.push(forbidden(child(path, 'valueFrom'), 'may not be specified when `value` is not empty'));
    }
  });
}
