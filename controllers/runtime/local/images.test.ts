// The local runtime's image map: reference normalisation and tag patterns, precedence (--images files, then the
// state directory's map created from the shipped default), reloads, the ContainerCommandRequired message naming the
// flag, a mapped image actually running with the runtime's environment, and the shipped map covering every image the
// samples' Processors use (with its compiled implementation present).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { parseAllDocuments } from 'yaml';
import { tempDir } from '../../../test/support/tmp';
import { waitFor } from '../../../test/support/ports';
import type { ProcessorWorkload } from '../types';
import { LocalRuntime } from './local-runtime';
import { ensureDefaultImageMap, ImageMap, imagePattern, missingImageMessage, normalizeImage, parseImageMap, SHIPPED_IMAGE_MAP } from './images';

const FIXTURES = resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures');
const SAMPLES = process.env.SR_SAMPLES_DIR ?? '/work/shared/sr-samples';
const dir = tempDir('sr-images-');
after(() => dir.remove());

function mapFile(name: string, text: string): string {
  const file = join(dir.path, name);
  writeFileSync(file, text);
  return file;
}

test('references are normalised as Docker does', () => {
  assert.equal(normalizeImage('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizeImage('springcloudstream/log-sink-kafka:3.2.0'), 'docker.io/springcloudstream/log-sink-kafka:3.2.0');
  assert.equal(normalizeImage('index.docker.io/springcloudstream/log-sink-kafka:3.2.0'), 'docker.io/springcloudstream/log-sink-kafka:3.2.0');
  assert.equal(normalizeImage('ghcr.io/vmware-tanzu/streaming-runtimes/udf-uppercase-go'), 'ghcr.io/vmware-tanzu/streaming-runtimes/udf-uppercase-go:latest');
  assert.equal(normalizeImage('localhost:5000/udf'), 'localhost:5000/udf:latest');
  assert.equal(normalizeImage('localhost:5000/udf:1'), 'localhost:5000/udf:1');
  assert.equal(normalizeImage('quay.io/x/y@sha256:abc'), 'quay.io/x/y@sha256:abc');
});

test('tag patterns: * and ?, a pattern without a tag matches every tag, Docker Hub short names match long ones', () => {
  const go = imagePattern('ghcr.io/vmware-tanzu/streaming-runtimes/udf-uppercase-go:*');
  assert.ok(go.test(normalizeImage('ghcr.io/vmware-tanzu/streaming-runtimes/udf-uppercase-go:0.1')));
  assert.ok(go.test(normalizeImage('ghcr.io/vmware-tanzu/streaming-runtimes/udf-uppercase-go')), 'untagged = latest');
  assert.ok(!go.test(normalizeImage('ghcr.io/vmware-tanzu/streaming-runtimes/udf-uppercase-go-extra:0.1')), 'the name must match exactly');
  assert.ok(!go.test(normalizeImage('ghcr.io/other/udf-uppercase-go:0.1')));

  const minor = imagePattern('springcloudstream/time-source-kafka:3.2.?');
  assert.ok(minor.test(normalizeImage('springcloudstream/time-source-kafka:3.2.0')));
  assert.ok(minor.test(normalizeImage('docker.io/springcloudstream/time-source-kafka:3.2.1')));
  assert.ok(!minor.test(normalizeImage('springcloudstream/time-source-kafka:3.2.10')));
  assert.ok(!minor.test(normalizeImage('springcloudstream/time-source-kafka:4.0.0')));

  const anyTag = imagePattern('springcloudstream/log-sink-kafka');
  for (const ref of ['springcloudstream/log-sink-kafka', 'springcloudstream/log-sink-kafka:3.2.0', 'springcloudstream/log-sink-kafka@sha256:00ff']) {
    assert.ok(anyTag.test(normalizeImage(ref)), ref);
  }
  assert.ok(!anyTag.test(normalizeImage('springcloudstream/log-sink-kafkax:1')));

  const family = imagePattern('ghcr.io/vmware-tanzu/streaming-runtimes/udf-uppercase-*:*');
  assert.ok(family.test(normalizeImage('ghcr.io/vmware-tanzu/streaming-runtimes/udf-uppercase-python:0.1')));
  // Regular-expression characters in a pattern are literal.
  assert.ok(!imagePattern('a.b/c:1').test('axb/c:1'));
});

test('map files: variables, env as a map or a list, errors name the file and entry', () => {
  const file = join(dir.path, 'vars.yaml');
  const [entry] = parseImageMap(`images:
  - image: x/y
    command: ["\${NODE}", "\${MAP_DIR}/udf.js"]
    args: ["--port", 1]
    env: { A: 1, B: "\${SR_DIST}" }
    workingDir: "\${SR_HOME}"
`, file);
  assert.deepEqual(entry.command, [process.execPath, join(dir.path, 'udf.js')]);
  assert.deepEqual(entry.args, ['--port', '1']);
  assert.equal(entry.env?.[0].name, 'A');
  assert.equal(entry.env?.[0].value, '1');
  assert.ok(entry.env?.[1].value?.endsWith('/dist'));
  assert.ok(entry.workingDir && existsSync(join(entry.workingDir, 'package.json')));
  const listEnv = parseImageMap('images:\n  - image: x\n    command: node\n    env: [{name: A, value: b}]\n', file);
  assert.deepEqual(listEnv[0].env, [{ name: 'A', value: 'b' }]);
  assert.deepEqual(listEnv[0].command, ['node'], 'a command string is one program');
  assert.throws(() => parseImageMap('images:\n  - image: x\n', file), /vars\.yaml: images\[0\]\.command is required/);
  assert.throws(() => parseImageMap('images:\n  - command: [node]\n', file), /images\[0\]\.image must be a non-empty string/);
  assert.throws(() => parseImageMap('images:\n  - image: x\n    command: ["${HOME}/x"]\n', file), /unknown variable \$\{HOME\}/);
  assert.throws(() => parseImageMap('- image: x\n', file), /top-level "images:" list/);
  assert.deepEqual(parseImageMap('', file), []);
});

test('precedence: --images files in order, then the state directory map; first match wins in a file', () => {
  const state = tempDir('sr-images-state-');
  try {
    const stateMap = ensureDefaultImageMap(state.path);
    assert.equal(stateMap, join(state.path, 'images.yaml'));
    assert.equal(readFileSync(stateMap, 'utf8'), readFileSync(SHIPPED_IMAGE_MAP, 'utf8'), 'created from the shipped default');
    // Never overwritten once there: it is the user's to edit.
    writeFileSync(stateMap, 'images:\n  - image: springcloudstream/log-sink-kafka\n    command: [state-log-sink]\n  - image: example/only-in-state\n    command: [state-only]\n');
    ensureDefaultImageMap(state.path);
    assert.match(readFileSync(stateMap, 'utf8'), /state-log-sink/);

    const first = mapFile('first.yaml', 'images:\n  - image: springcloudstream/log-sink-kafka:3.2.0\n    command: [first-exact]\n  - image: springcloudstream/log-sink-kafka:*\n    command: [first-any]\n');
    const second = mapFile('second.yaml', 'images:\n  - image: springcloudstream/*\n    command: [second-all]\n  - image: example/in-second\n    command: [second]\n');
    const map = new ImageMap([first, second, stateMap], new Set([stateMap]));
    assert.deepEqual(map.resolve('springcloudstream/log-sink-kafka:3.2.0')?.mapping.command, ['first-exact'], 'first matching entry of the first file');
    assert.equal(map.resolve('springcloudstream/log-sink-kafka:3.2.0')?.source, first);
    assert.deepEqual(map.resolve('springcloudstream/log-sink-kafka:4.0.0')?.mapping.command, ['first-any']);
    assert.deepEqual(map.resolve('springcloudstream/time-source-kafka:3.2.0')?.mapping.command, ['second-all'], '--images files before the state map');
    assert.deepEqual(map.resolve('example/only-in-state')?.mapping.command, ['state-only']);
    assert.equal(map.resolve('example/nowhere:1'), undefined);

    // The state map is optional (no shipped default); an --images file is not.
    assert.throws(() => new ImageMap([join(dir.path, 'missing.yaml')]), /image map .*missing\.yaml does not exist/);
    assert.doesNotThrow(() => new ImageMap([join(state.path, 'absent.yaml')], new Set([join(state.path, 'absent.yaml')])));
  } finally { state.remove(); }
});

test('a changed map file is re-read; a broken change keeps the previous contents and is reported', async () => {
  const file = mapFile('reload.yaml', 'images:\n  - image: example/a\n    command: [one]\n');
  const errors: string[] = [];
  const map = new ImageMap([file], new Set(), (f, err) => errors.push(`${f}: ${String(err)}`));
  assert.deepEqual(map.resolve('example/a')?.mapping.command, ['one']);
  await new Promise((r) => setTimeout(r, 20)); // a different mtime
  writeFileSync(file, 'images:\n  - image: example/a\n    command: [two, more]\n');
  assert.deepEqual(map.resolve('example/a')?.mapping.command, ['two', 'more']);
  await new Promise((r) => setTimeout(r, 20));
  writeFileSync(file, 'images:\n  - image: example/a\n');
  assert.deepEqual(map.resolve('example/a')?.mapping.command, ['two', 'more']);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /command is required/);
});

test('containerFor: a command wins over the map; mapped env are defaults under the container env; container args replace', () => {
  const file = mapFile('merge.yaml', 'images:\n  - image: example/udf\n    command: [node, udf.js]\n    args: [--default]\n    env: {A: map, B: map}\n    workingDir: /map\n');
  const map = new ImageMap([file]);
  const own = { name: 'c', image: 'example/udf', command: ['own'] };
  assert.equal(map.containerFor(own), own);
  const mapped = map.containerFor({ name: 'c', image: 'example/udf:2', env: [{ name: 'B', value: 'container' }] });
  assert.deepEqual(mapped?.command, ['node', 'udf.js']);
  assert.deepEqual(mapped?.args, ['--default']);
  assert.deepEqual(mapped?.env, [{ name: 'A', value: 'map' }, { name: 'B', value: 'container' }]);
  assert.equal(mapped?.workingDir, '/map');
  assert.deepEqual(map.containerFor({ name: 'c', image: 'example/udf', args: ['--mine'] })?.args, ['--mine']);
  assert.equal(map.containerFor({ name: 'c', image: 'example/unknown' }), undefined);
  assert.equal(map.containerFor({ name: 'c' }), undefined);
});

function udfWorkload(name: string, image: string): ProcessorWorkload {
  return {
    key: `default/${name}`, namespace: 'default', name, type: 'SRP', replicas: 1, stateful: false,
    configs: [{
      name, namespace: 'default', group: name, instanceIndex: 0, instanceCount: 1,
      inputs: [{ stream: 'in', protocol: 'kafka', destination: 'in', server: { url: '127.0.0.1:1' } }],
      outputs: [{ stream: 'out', protocol: 'kafka', destination: 'out', server: { url: '127.0.0.1:1' } }],
      attributes: {}, http: { port: 0 },
    }],
    udf: { containerName: 'udf', podPort: 50051 },
    containers: [{ name: 'udf', image, env: [{ name: 'GREETING', value: 'from the manifest' }] }],
  };
}

test('local runtime: a mapped image runs with the runtime environment; an unmapped one is ContainerCommandRequired naming --images', async () => {
  const state = tempDir('sr-images-runtime-');
  const file = mapFile('runtime.yaml', `images:\n  - image: example/fake-udf:*\n    command: ["\${NODE}", "${join(FIXTURES, 'fake-udf.js')}"]\n    env: {GREETING: from the map}\n`);
  const images = new ImageMap([file]);
  const runtime = new LocalRuntime({ dir: state.path, log: pino({ level: 'silent' }), srEntry: join(FIXTURES, 'fake-sr.js'), images });
  try {
    const missing = await runtime.apply(udfWorkload('unmapped', 'example/not-mapped:1.0'));
    assert.equal(missing.unsupported?.reason, 'ContainerCommandRequired');
    assert.match(missing.unsupported?.message ?? '', /"udf" \(image example\/not-mapped:1\.0\)/);
    assert.match(missing.unsupported?.message ?? '', /--images FILE/);
    assert.match(missing.unsupported?.message ?? '', /runtime\.yaml/, 'names the map files consulted');
    assert.equal(runtime.processIds('default/unmapped').length, 0);
    // Without any map the message still names the flag.
    assert.match(missingImageMessage([{ name: 'x', image: 'i' }], undefined), /no image map.*sr up --images FILE/);

    const w = udfWorkload('mapped', 'example/fake-udf:0.1');
    const status = await runtime.apply(w);
    assert.equal(status.unsupported, undefined);
    const logs = join(state.path, 'logs');
    const read = (f: string): Record<string, unknown> | undefined => {
      const p = join(logs, f);
      const line = existsSync(p) ? readFileSync(p, 'utf8').split('\n').find((l) => l.startsWith('{')) : undefined;
      return line ? JSON.parse(line) as Record<string, unknown> : undefined;
    };
    await waitFor('the processor and the mapped UDF started', () => !!read('default_mapped-0.log') && !!read('default_mapped-0-udf.log'), 15_000);
    const processor = read('default_mapped-0.log') as { udf: { address: string } };
    const udf = read('default_mapped-0-udf.log') as { PORT: string; GRPC_PORT: string; SR_UDF_PORT: string; INSTANCE: string; GREETING: string };
    assert.equal(processor.udf.address, `127.0.0.1:${udf.GRPC_PORT}`, 'the processor calls the mapped UDF on its reserved port');
    assert.equal(udf.SR_UDF_PORT, udf.GRPC_PORT);
    assert.equal(udf.INSTANCE, '0');
    assert.equal(udf.GREETING, 'from the manifest', "the container's env overrides the map's");
    assert.equal(runtime.processIds('default/mapped').length, 2);
  } finally {
    await runtime.close({ stopWorkloads: true });
    state.remove();
  }
});

test('the shipped map runs every image the samples Processors use, with its compiled implementation present', () => {
  const map = new ImageMap([SHIPPED_IMAGE_MAP]);
  const images = new Set<string>();
  for (const f of readdirSync(SAMPLES).filter((x) => x.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(SAMPLES, f), 'utf8'))) {
      const obj = doc.toJSON() as { kind?: string; spec?: { template?: { spec?: { containers?: { image?: string }[] } } } } | null;
      if (obj?.kind !== 'Processor') continue;
      for (const c of obj.spec?.template?.spec?.containers ?? []) if (c.image) images.add(c.image);
    }
  }
  assert.ok(images.size >= 11, `found ${[...images].join(', ')}`);
  for (const image of images) {
    const found = map.resolve(image);
    assert.ok(found, `${image} is mapped`);
    const script = found.mapping.command[1];
    assert.equal(found.mapping.command[0], process.execPath);
    assert.ok(existsSync(script), `${image}: ${script} is built`);
  }
});

const SR = resolve(__dirname, '..', '..', '..', 'cli', 'sr.js');

/** Runs `sr ...`, expecting a failure; returns its stderr. */
async function srFails(...args: string[]): Promise<string> {
  try {
    await promisify(execFile)(process.execPath, [SR, ...args], { timeout: 20_000 });
  } catch (err) {
    return String((err as { stderr?: string }).stderr ?? err);
  }
  throw new Error(`sr ${args.join(' ')} succeeded`);
}

test('the --images flags: sr controllers stops on a missing or broken map (naming it), sr up checks the file first', async () => {
  const kubeconfig = mapFile('kubeconfig', 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
  const stateDir = join(dir.path, 'flags-state');
  const missing = join(dir.path, 'flags-missing.yaml');
  assert.match(await srFails('controllers', '--kubeconfig', kubeconfig, '--state-dir', stateDir, '--images', missing), /image map .*flags-missing\.yaml does not exist/);
  const broken = mapFile('flags-broken.yaml', 'images:\n  - image: x\n');
  assert.match(await srFails('controllers', '--kubeconfig', kubeconfig, '--state-dir', stateDir, '--images', broken), /flags-broken\.yaml: images\[0\]\.command is required/);
  assert.ok(existsSync(join(stateDir, 'images.yaml')), 'the state directory map was created from the shipped default');
  assert.match(await srFails('up', '--dir', join(dir.path, 'flags-up'), '--images', missing), /--images .*flags-missing\.yaml: no such file/);
  assert.ok(!existsSync(join(dir.path, 'flags-up')), 'nothing started');
});
