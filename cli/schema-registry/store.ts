// The registry's state and rules, without HTTP: schemas by id, subjects with their versions, compatibility levels.
// Every change is written to DIR/schema-registry.json at once (a temporary file renamed over the old one, so a
// crash leaves the previous or the new state, never half of one). Errors carry Confluent's error codes; the HTTP
// status is the code's first three digits (40401 → 404), as the real registry does.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { identity, InvalidSchemaError, parseAvro, readError, SCHEMA_TYPES, validate, type SchemaReference, type SchemaType } from './avro';

export const COMPATIBILITY_LEVELS = ['NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE'] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];
/** Confluent's default. */
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';
export const STATE_FILE = 'schema-registry.json';

export class RegistryError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }

  /** 40401 → 404, 42201 → 422, 409 → 409. */
  get status(): number {
    return this.errorCode >= 1000 ? Math.floor(this.errorCode / 100) : this.errorCode;
  }
}

export interface StoredSchema {
  id: number;
  schema: string;
  schemaType: SchemaType;
  references?: SchemaReference[];
}

interface StoredVersion {
  version: number;
  id: number;
  /** Soft-deleted: hidden unless asked for with `deleted=true`; a permanent delete removes it. */
  deleted?: boolean;
}

interface State {
  nextId: number;
  schemas: StoredSchema[];
  subjects: Record<string, StoredVersion[]>;
  compatibility: CompatibilityLevel;
  subjectCompatibility: Record<string, CompatibilityLevel>;
}

export interface Registration {
  schema: string;
  schemaType?: string;
  references?: SchemaReference[];
}

export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
  schemaType: SchemaType;
  references?: SchemaReference[];
}

export class RegistryStore {
  private state: State = { nextId: 1, schemas: [], subjects: {}, compatibility: DEFAULT_COMPATIBILITY, subjectCompatibility: {} };
  private readonly byId = new Map<number, StoredSchema>();
  private readonly file: string | undefined;

  /** `dir` undefined: in memory only (tests). */
  constructor(dir?: string) {
    if (dir === undefined) return;
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, STATE_FILE);
    if (existsSync(this.file)) {
      this.state = JSON.parse(readFileSync(this.file, 'utf8')) as State;
      for (const s of this.state.schemas) this.byId.set(s.id, s);
    }
  }

  get path(): string | undefined {
    return this.file;
  }

  subjects(includeDeleted = false): string[] {
    return Object.entries(this.state.subjects)
      .filter(([, versions]) => versions.some((v) => includeDeleted || !v.deleted))
      .map(([name]) => name)
      .sort();
  }

  versions(subject: string, includeDeleted = false): number[] {
    return this.live(subject, includeDeleted).map((v) => v.version);
  }

  version(subject: string, version: string, includeDeleted = false): SubjectVersion {
    const found = this.find(subject, version, includeDeleted);
    return this.describe(subject, found);
  }

  schema(id: number): StoredSchema {
    const found = this.byId.get(id);
    if (!found) throw new RegistryError(40403, `Schema ${id} not found`);
    return found;
  }

  /** Subjects and versions that use a schema id. */
  usages(id: number): { subject: string; version: number }[] {
    this.schema(id);
    return Object.entries(this.state.subjects).flatMap(([subject, versions]) =>
      versions.filter((v) => v.id === id && !v.deleted).map((v) => ({ subject, version: v.version })));
  }

  /** Registers a schema under a subject: the same schema keeps its version (and any subject keeps its id); a new
   *  one must be compatible with the subject's versions at the subject's (else the global) level. */
  register(subject: string, registration: Registration): { id: number; version: number } {
    const { type, text, references } = this.checked(registration);
    const key = identity(type, text, references);
    const versions = this.state.subjects[subject] ?? [];
    const existing = versions.find((v) => !v.deleted && this.identityOf(v.id) === key);
    if (existing) return { id: existing.id, version: existing.version };
    const problem = this.incompatibility(subject, type, text, references);
    if (problem) throw new RegistryError(409, `Schema being registered is incompatible with an earlier schema for subject "${subject}": ${problem}`);
    let stored = [...this.byId.values()].find((s) => this.identityOf(s.id) === key);
    if (!stored) {
      stored = { id: this.state.nextId++, schema: text, schemaType: type, ...(references.length ? { references } : {}) };
      this.state.schemas.push(stored);
      this.byId.set(stored.id, stored);
    }
    const version = versions.reduce((max, v) => Math.max(max, v.version), 0) + 1;
    versions.push({ version, id: stored.id });
    this.state.subjects[subject] = versions;
    this.save();
    return { id: stored.id, version };
  }

  /** Is this schema registered under the subject (POST /subjects/{subject})? */
  lookup(subject: string, registration: Registration, includeDeleted = false): SubjectVersion {
    const versions = this.live(subject, includeDeleted);
    const { type, text, references } = this.checked(registration);
    const key = identity(type, text, references);
    const found = versions.find((v) => this.identityOf(v.id) === key);
    if (!found) throw new RegistryError(40403, 'Schema not found');
    return this.describe(subject, found);
  }

  /** Why a schema could not be registered under the subject now, or undefined (POST /compatibility/...). */
  compatibility(subject: string, registration: Registration, version: string): string | undefined {
    const { type, text, references } = this.checked(registration);
    if (!this.state.subjects[subject]?.some((v) => !v.deleted)) return undefined;
    const against = version === 'latest' ? undefined : this.find(subject, version).version;
    return this.incompatibility(subject, type, text, references, against);
  }

  deleteSubject(subject: string, permanent: boolean): number[] {
    const versions = this.state.subjects[subject];
    if (!versions || versions.length === 0) throw new RegistryError(40401, `Subject '${subject}' not found.`);
    if (permanent) {
      if (versions.some((v) => !v.deleted)) throw new RegistryError(40405, `Subject '${subject}' was not deleted first before being permanently deleted`);
      delete this.state.subjects[subject];
      delete this.state.subjectCompatibility[subject];
      this.save();
      return versions.map((v) => v.version);
    }
    const live = versions.filter((v) => !v.deleted);
    if (live.length === 0) throw new RegistryError(40404, `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`);
    for (const v of live) v.deleted = true;
    this.save();
    return live.map((v) => v.version);
  }

  deleteVersion(subject: string, version: string, permanent: boolean): number {
    const found = this.find(subject, version, permanent);
    if (permanent) {
      if (!found.deleted) throw new RegistryError(40407, `Subject '${subject}' Version ${found.version} was not deleted first before being permanently deleted`);
      this.state.subjects[subject] = this.state.subjects[subject].filter((v) => v !== found);
      if (this.state.subjects[subject].length === 0) delete this.state.subjects[subject];
    } else {
      if (found.deleted) throw new RegistryError(40406, `Subject '${subject}' Version ${found.version} was soft deleted. Set permanent=true to delete permanently`);
      found.deleted = true;
    }
    this.save();
    return found.version;
  }

  globalCompatibility(): CompatibilityLevel {
    return this.state.compatibility;
  }

  subjectCompatibility(subject: string): CompatibilityLevel | undefined {
    return this.state.subjectCompatibility[subject];
  }

  setCompatibility(subject: string | undefined, level: unknown): CompatibilityLevel {
    const upper = typeof level === 'string' ? level.toUpperCase() : '';
    if (!(COMPATIBILITY_LEVELS as readonly string[]).includes(upper)) {
      throw new RegistryError(42203, `Invalid compatibility level. Valid values are ${COMPATIBILITY_LEVELS.join(', ')}`);
    }
    const valid = upper as CompatibilityLevel;
    if (subject === undefined) this.state.compatibility = valid;
    else this.state.subjectCompatibility[subject] = valid;
    this.save();
    return valid;
  }

  deleteCompatibility(subject: string): CompatibilityLevel {
    const level = this.state.subjectCompatibility[subject];
    if (!level) throw new RegistryError(40408, `Subject '${subject}' does not have subject-level compatibility configured`);
    delete this.state.subjectCompatibility[subject];
    this.save();
    return level;
  }

  private checked(registration: Registration): { type: SchemaType; text: string; references: SchemaReference[] } {
    const type = (registration.schemaType ?? 'AVRO').toUpperCase();
    if (!(SCHEMA_TYPES as readonly string[]).includes(type)) throw new RegistryError(42201, `Invalid schema type ${registration.schemaType}`);
    if (typeof registration.schema !== 'string') throw new RegistryError(42201, 'Invalid schema: "schema" must be a string');
    const references = (registration.references ?? []).map((r) => ({ name: String(r.name), subject: String(r.subject), version: Number(r.version) }));
    try {
      const text = validate(type as SchemaType, registration.schema, references, (ref) => this.resolveReference(ref));
      return { type: type as SchemaType, text, references };
    } catch (err) {
      if (err instanceof InvalidSchemaError) throw new RegistryError(42201, err.message);
      throw err;
    }
  }

  /** Avro only (JSON Schema and Protobuf are stored without checks): BACKWARD = the new schema reads data written
   *  with the latest version, FORWARD = the latest reads the new one's, FULL = both; *_TRANSITIVE = every version. */
  private incompatibility(subject: string, type: SchemaType, text: string, references: SchemaReference[], onlyVersion?: number): string | undefined {
    const level = this.state.subjectCompatibility[subject] ?? this.state.compatibility;
    if (level === 'NONE' || type !== 'AVRO') return undefined;
    const live = this.live(subject, false, true).filter((v) => this.byId.get(v.id)?.schemaType === 'AVRO');
    const earlier = onlyVersion !== undefined ? live.filter((v) => v.version === onlyVersion) : level.endsWith('_TRANSITIVE') ? live : live.slice(-1);
    const candidate = parseAvro(text, references, (ref) => this.resolveReference(ref));
    for (const v of earlier) {
      const old = this.byId.get(v.id);
      if (!old) continue;
      const previous = parseAvro(old.schema, old.references, (ref) => this.resolveReference(ref));
      const backward = level.startsWith('BACKWARD') || level.startsWith('FULL') ? readError(candidate, previous) : undefined;
      if (backward) return `version ${v.version}: the new schema cannot read its data (${backward})`;
      const forward = level.startsWith('FORWARD') || level.startsWith('FULL') ? readError(previous, candidate) : undefined;
      if (forward) return `version ${v.version} cannot read the new schema's data (${forward})`;
    }
    return undefined;
  }

  private resolveReference(ref: SchemaReference): { schema: string; references?: SchemaReference[] } | undefined {
    const version = this.state.subjects[ref.subject]?.find((v) => v.version === ref.version);
    return version ? this.byId.get(version.id) : undefined;
  }

  private identityOf(id: number): string {
    const s = this.byId.get(id);
    return s ? identity(s.schemaType, s.schema, s.references ?? []) : '';
  }

  private live(subject: string, includeDeleted: boolean, quiet = false): StoredVersion[] {
    const versions = (this.state.subjects[subject] ?? []).filter((v) => includeDeleted || !v.deleted);
    if (versions.length === 0 && !quiet) throw new RegistryError(40401, `Subject '${subject}' not found.`);
    return versions;
  }

  private find(subject: string, version: string, includeDeleted = false): StoredVersion {
    const versions = this.live(subject, includeDeleted);
    if (version === 'latest' || version === '-1') return versions[versions.length - 1];
    const n = Number(version);
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1) {
      throw new RegistryError(42202, `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`);
    }
    const found = versions.find((v) => v.version === n);
    if (!found) throw new RegistryError(40402, `Version ${version} not found.`);
    return found;
  }

  private describe(subject: string, v: StoredVersion): SubjectVersion {
    const s = this.schema(v.id);
    return { subject, version: v.version, id: v.id, schema: s.schema, schemaType: s.schemaType, ...(s.references ? { references: s.references } : {}) };
  }

  private save(): void {
    if (!this.file) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.state, null, 1)}\n`);
    renameSync(tmp, this.file);
  }
}
