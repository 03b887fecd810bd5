// Acceptance of the original Streaming Runtime's manifests (vendored in test/compat/sr-samples, or $SR_SAMPLES_DIR):
// every ClusterStream, Stream and Processor document must pass the API server's admission steps — pruning (nothing
// unknown), defaulting, structural and semantic validation — with zero errors, exactly as written.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { applyDefaults, pruneUnknownFields, structuralValidate } from '../../crds/schema';
import { isStreamingResource, validateResource } from '../../crds/validation';
import { crdDirectory } from '../../crds/loader';

/** The vendored copy (read from the source tree: dist/ has no YAML). */
const VENDORED = path.resolve(crdDirectory(), '..', 'test', 'compat', 'sr-samples');
/** The workspace's shared copy, when this checkout sits in the workspace. */
const SHARED = path.resolve(crdDirectory(), '..', '..', 'shared', 'sr-samples');

function samplesDirectory(): string {
  return process.env.SR_SAMPLES_DIR ?? VENDORED;
}

interface Sample {
  file: string;
  name: string;
  obj: Record<string, unknown> & { kind: 'ClusterStream' | 'Stream' | 'Processor' };
}

function loadSamples(): Sample[] {
  const directory = samplesDirectory();
  const samples: Sample[] = [];
  for (const file of fs.readdirSync(directory).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const document of parseAllDocuments(fs.readFileSync(path.join(directory, file), 'utf8'))) {
      const obj: unknown = document.toJS();
      if (isStreamingResource(obj)) {
        const metadata = obj.metadata as { name?: string } | undefined;
        samples.push({ file, name: `${obj.kind}/${metadata?.name ?? '?'}`, obj });
      }
    }
  }
  return samples;
}

describe('original Streaming Runtime samples are accepted verbatim', () => {
  const samples = loadSamples();

  it('the vendored samples match the shared originals (when present)', () => {
    if (!fs.existsSync(SHARED)) return;
    for (const file of fs.readdirSync(SHARED).filter((f) => f.endsWith('.yaml'))) {
      assert.equal(fs.readFileSync(path.join(VENDORED, file), 'utf8'), fs.readFileSync(path.join(SHARED, file), 'utf8'), file);
    }
  });

  it('finds the samples of all three kinds', () => {
    const kinds = new Set(samples.map((s) => s.obj.kind));
    assert.deepEqual([...kinds].sort(), ['ClusterStream', 'Processor', 'Stream']);
    assert.ok(samples.length >= 100, `only ${samples.length} samples found`);
  });

  for (const sample of samples) {
    it(`${sample.file} ${sample.name}`, () => {
      const obj = structuredClone(sample.obj);
      assert.deepEqual(pruneUnknownFields(obj.kind, obj), [], 'no field is unknown');
      applyDefaults(obj.kind, obj);
      assert.deepEqual(structuralValidate(obj.kind, obj), [], 'structural validation');
      assert.deepEqual(validateResource(obj).errors, [], 'semantic validation');
      // The editor validates manifests as written (before defaulting): no errors there either.
      assert.deepEqual(validateResource(structuredClone(sample.obj)).errors, [], 'semantic validation before defaulting');
    });
  }
});
