// Semantic rules of a Processor: inputs/outputs name Streams (unique), what each type needs (SRP an input, FSQL
// queries, SCS containers), inlineQuery vs template, containers (names, image or command, ports, env), replicas,
// and the srp.* attributes (validation/attributes.ts).

import type { ProcessorType, Stream } from '../types';
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
import { diagnosticAt, parseStatement } from '../sql/parser';
import { planStatement } from '../sql/plan';
import { statementStreams } from '../sql/references';
import { tableFromStream } from '../sql/tables';
import type { Statement } from '../sql/ast';
import type { SqlTable } from '../sql/table';

const PROCESSOR_TYPES: readonly ProcessorType[] = ['SRP', 'SCS', 'FSQL'];

/** What a check may know beyond the object itself. The API server passes the Streams it stores; the editor, the
 *  Streams of the open documents. Without it, FSQL statements are checked for syntax and support only. */
export interface ValidationContext {
  /** A Stream of the Processor's namespace by name, if it exists. */
  stream?: (namespace: string, name: string) => Stream | undefined;
}

export function validateProcessor(obj: JsonObject, context: ValidationContext = {}): ValidationResult {
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
      validateQueries(spec.inlineQuery, errors, context.stream && ((name) => context.stream?.(stringOf(recordOf(obj.metadata).namespace) ?? 'default', name)));
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

function validateQueries(queries: unknown, errors: FieldIssue[], stream?: (name: string) => Stream | undefined): void {
  const before = errors.length;
  const statements: { statement: Statement; text: string; path: string; statementIndex: number }[] = [];
  arrayOf(queries).forEach((query, i) => {
    const path = index('spec.inlineQuery', i);
    if (typeof query !== 'string') return;
    if (query.trim() === '') {
      errors.push(invalid(path, query, 'must be a SQL statement'));
      return;
    }
    let placeholderProblem = false;
    for (const match of query.matchAll(STREAM_PLACEHOLDER)) {
      const name = match[1].trim();
      const problems = dns1123SubdomainProblems(name);
      if (problems.length) {
        placeholderProblem = true;
        const offset = (match.index ?? 0) + '[[STREAM:'.length;
        errors.push(invalid(path, query, `[[STREAM:${match[1]}]] must name a Stream: ${problems.join('; ')}`, offset));
      }
    }
    if (placeholderProblem) return;
    const checked = statementIssues(query, i, path);
    errors.push(...checked.issues);
    if (checked.statement) statements.push({ statement: checked.statement, text: query, path, statementIndex: i });
  });
  if (errors.length === before && stream) errors.push(...planIssues(statements, stream));
}

/** With the Streams at hand, the statements planned against their tables: unknown tables and columns, types,
 *  changelog modes. Skipped while a Stream is missing (the controllers wait for it and report) or reads its columns
 *  from a schema registry (known only at run time). */
function planIssues(statements: { statement: Statement; text: string; path: string; statementIndex: number }[], stream: (name: string) => Stream | undefined): FieldIssue[] {
  const names = new Set<string>();
  for (const { statement } of statements) {
    const refs = statementStreams(statement);
    for (const n of [...refs.reads, ...refs.writes]) names.add(n);
  }
  const tables: SqlTable[] = [];
  for (const name of names) {
    const found = stream(name);
    if (!found) return [];
    const table = tableFromStream(found).table;
    // No table yet (a Stream without columns is the controllers' to report) or columns known only at run time.
    if (!table || table.columnsFromRegistry || table.columns.length === 0) return [];
    tables.push(table);
  }
  const issues: FieldIssue[] = [];
  statements.forEach(({ statement, text, path, statementIndex }) => {
    for (const d of planStatement(statement, tables, statementIndex, text).diagnostics) {
      issues.push(invalid(path, text, `statement ${d.statement + 1}, line ${d.line}, column ${d.column}: ${d.message}`, d.span.start));
    }
  });
  return issues;
}

/** The statement parsed as streaming SQL (crds/sql): every syntax error or unsupported construct with the statement
 *  number, line, column and what is supported; `offset` points the editor at the place. Only INSERT INTO runs. */
function statementIssues(query: string, statementIndex: number, path: string): { issues: FieldIssue[]; statement?: Statement } {
  const parsed = parseStatement(query, statementIndex);
  const issues = parsed.diagnostics.map((d) => invalid(path, query, `statement ${d.statement + 1}, line ${d.line}, column ${d.column}: ${d.message}`, d.span.start));
  const statement = parsed.statement;
  if (issues.length === 0 && statement && statement.kind !== 'insert') {
    const what = statement.kind === 'createTable'
      ? 'a CREATE TABLE: tables come from Streams ([[STREAM:<name>]]); declare columns in the Stream\'s dataSchemaContext'
      : 'a query without INSERT INTO, whose rows would go nowhere: write INSERT INTO [[STREAM:<name>]] SELECT ..., or put it in the debugQuery attribute';
    const at = diagnosticAt(query, statementIndex, statement.span, '');
    issues.push(invalid(path, query, `statement ${statementIndex + 1}, line ${at.line}, column ${at.column}: ${what}`, statement.span.start));
  }
  return issues.length === 0 && statement ? { issues, statement } : { issues };
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
