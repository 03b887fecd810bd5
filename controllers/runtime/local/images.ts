// The local runtime's image map: what to run on this machine for a container that names an image and no `command`
// (a UDF sidecar, a Spring Cloud Stream application). There is no container engine under `sr up`, so an image
// reference is mapped to a local command, which the runtime then runs exactly like a container with `command`
// (same ports, SPRING_* environment, GRPC_PORT / SR_UDF_PORT, SR_INSTANCE_INDEX).
//
// A map file (YAML):
//
//   images:
//     - image: ghcr.io/vmware-tanzu/streaming-runtimes/udf-uppercase-go:*     # tag pattern
//       command: ["${NODE}", "${SR_DIST}/examples/images/udf-uppercase-go/main.js"]
//       args: []                                                            # optional
//       env: { LOG_LEVEL: info }                                            # optional (map or [{name, value}])
//       workingDir: /somewhere                                              # optional
//
// Precedence: every `--images FILE` in the order given, then DIR/images.yaml (created from the project's shipped
// default, examples/images/images.yaml, when missing, and never overwritten afterwards: it is the user's to edit).
// Within a file the first matching entry wins. Files are re-read when they change (next reconcile).
//
// Matching works on normalised references, as Docker names them: `busybox` is `docker.io/library/busybox:latest`,
// `springcloudstream/log-sink-kafka:3.2.0` is `docker.io/springcloudstream/log-sink-kafka:3.2.0`. A pattern without a
// tag matches every tag (and digest); `*` matches any run of characters, `?` one character.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Container, EnvVar } from '../../../crds/types';

/** One entry of a map file. */
export interface ImageMapping {
  /** The pattern as written. */
  image: string;
  command: string[];
  args?: string[];
  env?: EnvVar[];
  workingDir?: string;
}

/** A mapping that matched, with the file it came from (for status messages and logs). */
export interface ResolvedImage {
  mapping: ImageMapping;
  source: string;
}

interface LoadedFile {
  path: string;
  mtimeMs: number;
  size: number;
  entries: { mapping: ImageMapping; matcher: RegExp }[];
}

const ROOT = resolve(__dirname, '..', '..', '..', '..');
/** The shipped default map (source tree; the compiled implementations live under dist/examples/images). */
export const SHIPPED_IMAGE_MAP = join(ROOT, 'examples', 'images', 'images.yaml');
export const DEFAULT_IMAGE_MAP_NAME = 'images.yaml';

/** Variables a map may use in command, args, env values and workingDir. */
function variables(mapFile: string): Record<string, string> {
  return {
    NODE: process.execPath,
    SR_HOME: ROOT,
    SR_DIST: join(ROOT, 'dist'),
    MAP_DIR: dirname(resolve(mapFile)),
  };
}

function substitute(text: string, vars: Record<string, string>, where: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`${where}: unknown variable ${whole} (known: ${Object.keys(vars).map((v) => `\${${v}}`).join(', ')})`);
    return value;
  });
}

/** Docker's normalisation: default registry docker.io, default namespace library, default tag latest. */
export function normalizeImage(reference: string): string {
  let ref = reference.trim();
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  // The first component is a registry when it looks like a host (has a dot or a port) or is localhost.
  const hasRegistry = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) ref = slash < 0 ? `docker.io/library/${ref}` : `docker.io/${ref}`;
  else if (first === 'index.docker.io') ref = `docker.io${ref.slice(first.length)}`;
  const lastSlash = ref.lastIndexOf('/');
  const name = ref.slice(lastSlash + 1);
  if (!name.includes(':') && !name.includes('@')) ref = `${ref}:latest`;
  return ref;
}

/** A pattern's matcher over normalised references. */
export function imagePattern(pattern: string): RegExp {
  const text = pattern.trim();
  const lastSlash = text.lastIndexOf('/');
  const name = text.slice(lastSlash + 1);
  const tagless = !name.includes(':') && !name.includes('@');
  // Normalise with a placeholder tag so the registry/namespace defaults apply, then widen "no tag" to any tag.
  const placeholder = ':sr-any-tag';
  const normalised = tagless ? normalizeImage(`${text}${placeholder}`).slice(0, -placeholder.length) : normalizeImage(text);
  const body = [...normalised].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}${tagless ? '(?:[:@].*)?' : ''}$`);
}

function parseEnv(value: unknown, where: string): EnvVar[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) {
    return value.map((e, i) => {
      const item = e as { name?: unknown; value?: unknown };
      if (typeof item?.name !== 'string') throw new Error(`${where}.env[${i}].name must be a string`);
      return { name: item.name, value: item.value === undefined || item.value === null ? '' : String(item.value) };
    });
  }
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).map(([name, v]) => ({ name, value: v === null || v === undefined ? '' : String(v) }));
  }
  throw new Error(`${where}.env must be a map or a list of {name, value}`);
}

function stringList(value: unknown, where: string, required: boolean): string[] | undefined {
  if (value === undefined || value === null) {
    if (required) throw new Error(`${where} is required (a list of strings)`);
    return undefined;
  }
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' && typeof v !== 'number')) throw new Error(`${where} must be a list of strings`);
  const list = value.map(String);
  if (required && list.length === 0) throw new Error(`${where} must not be empty`);
  return list;
}

/** Parses a map file's text. Throws with the file and entry named. */
export function parseImageMap(text: string, path: string): ImageMapping[] {
  const doc = parse(text) as unknown;
  if (doc === null || doc === undefined) return [];
  const list = (doc as { images?: unknown }).images;
  if (typeof doc !== 'object' || !Array.isArray(list)) throw new Error(`${path}: expected a top-level "images:" list`);
  const vars = variables(path);
  return list.map((raw, i) => {
    const where = `${path}: images[${i}]`;
    const entry = raw as Record<string, unknown>;
    if (typeof entry?.image !== 'string' || entry.image.trim() === '') throw new Error(`${where}.image must be a non-empty string`);
    const command = stringList(entry.command, `${where}.command`, true)!.map((s) => substitute(s, vars, `${where}.command`));
    const args = stringList(entry.args, `${where}.args`, false)?.map((s) => substitute(s, vars, `${where}.args`));
    const env = parseEnv(entry.env, where).map((e) => ({ name: e.name, value: substitute(e.value ?? '', vars, `${where}.env.${e.name}`) }));
    const mapping: ImageMapping = { image: entry.image.trim(), command };
    if (args?.length) mapping.args = args;
    if (env.length) mapping.env = env;
    if (typeof entry.workingDir === 'string') mapping.workingDir = substitute(entry.workingDir, vars, `${where}.workingDir`);
    return mapping;
  });
}

/** Creates DIR/images.yaml from the shipped default when it does not exist; returns its path. */
export function ensureDefaultImageMap(stateDir: string, shipped = SHIPPED_IMAGE_MAP): string {
  const target = join(stateDir, DEFAULT_IMAGE_MAP_NAME);
  if (!existsSync(target) && existsSync(shipped)) {
    mkdirSync(stateDir, { recursive: true });
    copyFileSync(shipped, target);
  }
  return target;
}

export class ImageMap {
  private readonly loaded = new Map<string, LoadedFile>();

  /**
   * `files` in precedence order (the `--images` files, then the state directory's map). Every file is read now, so
   * a broken map stops the controllers at start with its error; a missing file is an error too, except `optional`
   * ones (the state directory's map when no shipped default exists).
   */
  constructor(private readonly files: string[], optional: ReadonlySet<string> = new Set(), private readonly onReloadError?: (file: string, err: unknown) => void) {
    for (const file of files) {
      if (!existsSync(file)) {
        if (optional.has(file)) continue;
        throw new Error(`image map ${file} does not exist`);
      }
      this.load(file);
    }
  }

  /** The map files in precedence order (for messages). */
  get sources(): readonly string[] { return this.files; }

  /** The first mapping for an image reference, or undefined. */
  resolve(image: string): ResolvedImage | undefined {
    const normalised = normalizeImage(image);
    for (const file of this.files) {
      const loaded = this.current(file);
      if (!loaded) continue;
      for (const entry of loaded.entries) if (entry.matcher.test(normalised)) return { mapping: entry.mapping, source: file };
    }
    return undefined;
  }

  /**
   * The container as the local runtime runs it: a container with a `command` is returned as is; an image with a
   * mapping gets the mapping's command, args (the container's own `args` replace them, as Kubernetes' args replace
   * an image's CMD), env (the container's own variables win, as they override an image's ENV) and workingDir.
   * Undefined when there is nothing to run.
   */
  containerFor(container: Container): Container | undefined {
    if (container.command?.length) return container;
    if (!container.image) return undefined;
    const found = this.resolve(container.image);
    if (!found) return undefined;
    const { mapping } = found;
    const own = new Set((container.env ?? []).map((e) => e.name));
    const env = [...(mapping.env ?? []).filter((e) => !own.has(e.name)), ...(container.env ?? [])];
    const args = container.args?.length ? container.args : mapping.args;
    const workingDir = container.workingDir ?? mapping.workingDir;
    return {
      ...container,
      command: mapping.command,
      ...(args?.length ? { args } : {}),
      ...(env.length ? { env } : {}),
      ...(workingDir ? { workingDir } : {}),
    };
  }

  /** Re-reads a file whose size or mtime changed; keeps the previous contents when the new ones do not parse. */
  private current(file: string): LoadedFile | undefined {
    const previous = this.loaded.get(file);
    let stat;
    try { stat = statSync(file); } catch { return previous; }
    if (previous && previous.mtimeMs === stat.mtimeMs && previous.size === stat.size) return previous;
    try {
      return this.load(file);
    } catch (err) {
      this.onReloadError?.(file, err);
      if (previous) this.loaded.set(file, { ...previous, mtimeMs: stat.mtimeMs, size: stat.size });
      return previous;
    }
  }

  private load(file: string): LoadedFile {
    const stat = statSync(file);
    const mappings = parseImageMap(readFileSync(file, 'utf8'), file);
    const loaded: LoadedFile = { path: file, mtimeMs: stat.mtimeMs, size: stat.size, entries: mappings.map((mapping) => ({ mapping, matcher: imagePattern(mapping.image) })) };
    this.loaded.set(file, loaded);
    return loaded;
  }
}

/** The ContainerCommandRequired message for containers nothing can run; names the flag. */
export function missingImageMessage(containers: Container[], map: ImageMap | undefined): string {
  const list = containers.map((c) => (c.image ? `"${c.name}" (image ${c.image})` : `"${c.name}" (no image)`)).join(', ');
  const where = map?.sources.length ? `the image map (${map.sources.join(', ')})` : 'no image map';
  return `the local runtime runs containers as local processes: container(s) ${list} have no command and no mapping in ${where}; ` +
    'map the image to a local command in a file given with `sr up --images FILE` (or `sr controllers --images FILE`), or give the container a command';
}
