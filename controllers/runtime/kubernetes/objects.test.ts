// Every Processor of the original's samples becomes Kubernetes objects that pass the structural checks of the
// Kubernetes API models (no cluster runs here; see controllers/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleWorkloads } from '../../../test/support/controllers-samples';
import { validateObjects } from '../../../test/support/controllers-kube-schema';
import { buildObjects, DEFAULT_SETTINGS, type KubeObject } from './objects';
import type { ProcessorConfig } from '../../../processor/config';
import { credentialsToEnvironment } from '../../workload';

const samples = sampleWorkloads({ credentialsInConfig: false, httpPort: 8080 });

test('there are samples to check (at least 25 Processors, all three types)', () => {
  assert.ok(samples.length >= 25, `found ${samples.length}`);
  for (const t of ['SRP', 'SCS', 'FSQL']) assert.ok(samples.some((s) => s.workload.type === t), t);
});

for (const { file, processor, workload } of samples) {
  test(`${file}: ${processor.metadata.name} (${workload.type}) generates valid objects`, () => {
    const objects = buildObjects(workload);
    assert.deepEqual(validateObjects(objects as never), []);
    const kinds = objects.map((o) => o.kind).sort();
    if (workload.type === 'FSQL') {
      // Our processor runs the statements: one configuration per replica with the statements and resolved tables,
      // and no Flink anywhere.
      assert.ok(kinds.includes('ConfigMap') && (kinds.includes('Deployment') || kinds.includes('StatefulSet')), kinds.join());
      const cm = objects.find((o) => o.kind === 'ConfigMap')!;
      const config = JSON.parse((cm.data as Record<string, string>)['config-0.json']) as ProcessorConfig;
      assert.deepEqual(config.sql?.statements, processor.spec.inlineQuery);
      for (const binding of [...config.inputs, ...config.outputs]) assert.ok(config.sql?.tables.some((t) => t.stream === binding.stream), `table of ${binding.stream}`);
      assert.ok(config.inputs.length >= 1 && config.outputs.length >= 1);
      const images = objects.flatMap((o) => ((o.spec as { template?: { spec?: { containers?: { image: string }[] } } } | undefined)?.template?.spec?.containers ?? []).map((c) => c.image));
      assert.deepEqual(images, [DEFAULT_SETTINGS.processorImage], 'our processor image only, no Flink');
      return;
    }
    const main = objects.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet') as KubeObject;
    assert.equal(main.kind, workload.stateful ? 'StatefulSet' : 'Deployment');
    if (workload.stateful) assert.ok(objects.some((o) => o.kind === 'Service'), 'headless Service');
    const spec = main.spec as { replicas: number; template: { spec: { containers: { name: string; env?: { name: string; valueFrom?: unknown }[] }[] } } };
    assert.equal(spec.replicas, processor.spec.replicas ?? 1);
    const containerNames = spec.template.spec.containers.map((c) => c.name);
    for (const c of processor.spec.template?.spec?.containers ?? []) assert.ok(containerNames.includes(c.name), `container ${c.name} kept`);
    if (workload.type === 'SRP') {
      const cm = objects.find((o) => o.kind === 'ConfigMap')!;
      const data = cm.data as Record<string, string>;
      assert.equal(Object.keys(data).length, Math.max(1, processor.spec.replicas ?? 1));
      const config = JSON.parse(data['config-0.json']) as ProcessorConfig;
      assert.equal(config.inputs.length, processor.spec.inputs?.length ?? 0, 'every input');
      assert.equal(config.outputs.length, processor.spec.outputs?.length ?? 0, 'every output');
      assert.equal(JSON.stringify(config).includes('password'), false, 'no credentials in the ConfigMap');
      const idx = spec.template.spec.containers[0].env?.find((e) => e.name === 'SR_INSTANCE_INDEX');
      assert.ok(idx, 'instance index env');
      if (workload.stateful) assert.ok(idx.valueFrom, 'ordinal from the pod-index label');
    }
  });
}

test('tutorial 6: time attribute, SIDE_CHANNEL late output and UDF port 55554 from the samples', () => {
  const s = samples.find((x) => x.file.startsWith('tutorials__6-'))!;
  const config = s.workload.configs[0];
  assert.deepEqual(config.inputs[0].timeAttribute, { field: 'score_time', watermark: "`score_time` - INTERVAL '2' SECOND" });
  assert.equal(config.lateOutput?.destination, 'user-scores.late');
  assert.equal(config.deadLetter?.destination, 'data-in.user-scores-processor.dlq');
  assert.equal(s.workload.udf?.podPort, 55554);
});

test('tutorial 5: partitioned output, partitioned input, instance indexes per replica', () => {
  const up = samples.find((x) => x.file.startsWith('tutorials__5-') && x.processor.metadata.name === 'team-partition-processor')!;
  assert.deepEqual(up.workload.configs[0].outputs[0].partitioning, { keyExpression: 'payload.team', partitionCount: 3 });
  const down = samples.find((x) => x.file.startsWith('tutorials__5-') && x.processor.metadata.name === 'team-scores-processor')!;
  assert.equal(down.workload.stateful, true);
  assert.deepEqual(down.workload.configs.map((c) => [c.instanceIndex, c.instanceCount]), [[0, 3], [1, 3], [2, 3]]);
  assert.equal(down.workload.configs[0].inputs[0].partitioned, true);
});

test('tutorial 8: credentials come from the binding Secret via secretKeyRef', () => {
  const s = samples.find((x) => x.file.startsWith('tutorials__8-'));
  if (!s) return;
  const objects = buildObjects(s.workload);
  const text = JSON.stringify(objects);
  if (s.workload.secretEnv?.length) assert.match(text, /secretKeyRef/);
});

test('the structural checker rejects what the API server would reject', () => {
  const s = samples.find((x) => x.workload.type === 'SRP')!;
  const objects = buildObjects(s.workload) as unknown as Record<string, unknown>[];
  const broken = structuredClone(objects);
  const dep = broken.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet') as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
  dep.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
  dep.spec.template.spec.containers[0].ports = [{ containerPort: '8080' }];
  const errors = validateObjects(broken as never);
  assert.ok(errors.some((e) => /imagePullPolicyy: unknown field/.test(e)), errors.join('\n'));
  assert.ok(errors.some((e) => /containerPort: expected integer/.test(e)), errors.join('\n'));
});

test('credentials the controllers know (a ClusterStream URL, the default server) go into a Secret of the Processor, read like binding Secrets', () => {
  const s = samples.find((x) => x.file.startsWith('tutorials__2-'))!;
  const workload = structuredClone(s.workload);
  for (const config of workload.configs) {
    for (const b of [...config.inputs, ...config.outputs, config.deadLetter]) if (b?.protocol === 'rabbitmq') b.server = { ...b.server, credentials: { username: 'alice', password: 's3cret' } };
  }
  credentialsToEnvironment(workload);
  const objects = buildObjects(workload);
  assert.deepEqual(validateObjects(objects as never), []);
  const secret = objects.find((o) => o.kind === 'Secret');
  assert.equal(secret?.metadata.name, `srp-${workload.name}-credentials`);
  const rabbit = workload.configs[0].outputs.find((b) => b.protocol === 'rabbitmq')!;
  assert.equal((secret?.stringData as Record<string, string>)[`SR_BINDING_${rabbit.stream.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`], 's3cret');
  for (const o of objects.filter((x) => x.kind !== 'Secret')) assert.doesNotMatch(JSON.stringify(o), /s3cret/, `${o.kind} holds no password`);
  const dep = objects.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet') as unknown as { spec: { template: { spec: { containers: { name: string; env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] }[] } } } };
  const env = dep.spec.template.spec.containers.find((c) => c.name === 'processor')?.env ?? [];
  for (const key of Object.keys(secret?.stringData as Record<string, string>)) {
    assert.deepEqual(env.find((e) => e.name === key)?.valueFrom?.secretKeyRef, { name: `srp-${workload.name}-credentials`, key });
  }
});
