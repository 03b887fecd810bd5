import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closestSrpAttribute, OTHER_KNOWN_ATTRIBUTES, SRP_ATTRIBUTES, srpAttribute } from './attributes';
import { definitionFor } from './loader';
import { validateAttributes } from './validation';

// The attributes agreed for the whole project (helpers' brief): the original's and ours.
const AGREED = [
  'srp.window', 'srp.window.idle.timeout', 'srp.lateEventMode', 'srp.maxOutOfOrderness', 'srp.allowedLateness',
  'srp.input.timestampExpression', 'srp.input.schemaRegistryUri', 'srp.skipUdf', 'srp.grpcPort', 'srp.spel.expression',
  'srp.output.headers', 'srp.envs', 'srp.jsonata.expression', 'srp.filter.expression', 'srp.window.type',
  'srp.window.slide', 'srp.window.gap', 'srp.window.maxState', 'srp.watermark.idleTimeout', 'srp.udf.timeout',
  'srp.udf.maxAttempts', 'srp.output.late', 'srp.output.deadLetter', 'srp.window.state', 'srp.sql.state.ttl',
];

describe('attribute catalogue', () => {
  it('lists exactly the agreed srp.* attributes, once each, described', () => {
    assert.deepEqual(SRP_ATTRIBUTES.map((a) => a.name).sort(), [...AGREED].sort());
    for (const attribute of SRP_ATTRIBUTES) {
      assert.ok(attribute.description.length > 30, attribute.name);
      assert.ok(attribute.valueHint, attribute.name);
      if (attribute.syntax === 'enum' || attribute.syntax === 'boolean') assert.ok(attribute.allowedValues?.length, attribute.name);
    }
    for (const attribute of OTHER_KNOWN_ATTRIBUTES) assert.ok(!attribute.name.startsWith('srp.'));
  });

  it('the Processor CRD describes every srp.* attribute (kubectl explain processor.spec.attributes)', () => {
    const description = definitionFor('Processor')?.schema.properties?.spec?.properties?.attributes?.description ?? '';
    for (const attribute of SRP_ATTRIBUTES) assert.ok(description.includes(attribute.name), attribute.name);
  });

  it('has the agreed defaults', () => {
    const defaults = Object.fromEntries(SRP_ATTRIBUTES.filter((a) => a.default !== undefined).map((a) => [a.name, a.default]));
    assert.equal(defaults['srp.lateEventMode'], 'DROP with srp.window; without a window, late events pass through');
    assert.equal(defaults['srp.grpcPort'], '55554');
    assert.equal(defaults['srp.window.type'], 'TUMBLING');
    assert.equal(defaults['srp.window.maxState'], '100000');
    assert.equal(defaults['srp.watermark.idleTimeout'], '30s');
    assert.equal(defaults['srp.udf.timeout'], '5s');
    assert.equal(defaults['srp.udf.maxAttempts'], '3');
  });

  it('every example and enum value passes validation; defaults that are literal values too', () => {
    for (const attribute of SRP_ATTRIBUTES) {
      const literalDefault = attribute.default !== undefined && !/[\s<]/.test(attribute.default) ? [attribute.default] : [];
      const values = [attribute.example, ...(attribute.allowedValues ?? []), ...literalDefault];
      for (const value of values) {
        const result = validateAttributes({ [attribute.name]: value }, 'spec.attributes', { type: 'SRP', hasContainers: true });
        // Only the value itself: combination rules (e.g. SLIDING needs a slide) are tested in validation/.
        const own = result.errors.filter((e) => e.field === `spec.attributes[${attribute.name}]`);
        assert.deepEqual(own, [], `${attribute.name}=${value}`);
      }
    }
  });

  it('looks attributes up and suggests the closest for typos', () => {
    assert.equal(srpAttribute('srp.window')?.syntax, 'duration');
    assert.equal(srpAttribute('srp.nope'), undefined);
    assert.equal(closestSrpAttribute('srp.lateEventmode'), 'srp.lateEventMode');
    assert.equal(closestSrpAttribute('srp.grpcport'), 'srp.grpcPort');
    assert.equal(closestSrpAttribute('srp.something.else.entirely'), undefined);
  });
});
