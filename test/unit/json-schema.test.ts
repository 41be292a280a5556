import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterConfigJsonSchemaText } from '../../src/config/json-schema.js';

describe('docs/cluster-config.schema.json', () => {
  it('is up to date with the typed schema (refresh with npm run schema)', () => {
    const committed = readFileSync(
      join(import.meta.dirname, '..', '..', 'docs', 'cluster-config.schema.json'),
      'utf8',
    );
    expect(committed).toBe(clusterConfigJsonSchemaText());
  });

  it('forbids unknown keys and describes the contract keys', () => {
    const schema = JSON.parse(clusterConfigJsonSchemaText());
    expect(schema.additionalProperties).toBe(false);
    const spec = schema.properties.spec;
    expect(spec.additionalProperties).toBe(false);
    expect(Object.keys(spec.properties)).toEqual(
      expect.arrayContaining([
        'kubernetes',
        'runtime',
        'network',
        'controlPlane',
        'workers',
        'access',
        'os',
        'housekeeper',
        'platform',
      ]),
    );
    expect(spec.properties.runtime.enum).toEqual(['containerd', 'crio', 'isulad', 'docker']);
  });
});

describe('docs/config-reference.md', () => {
  it('is up to date with the typed schema (refresh with npm run schema)', async () => {
    const { configReferenceMarkdown } = await import('../../src/config/reference.js');
    const committed = readFileSync(
      join(import.meta.dirname, '..', '..', 'docs', 'config-reference.md'),
      'utf8',
    );
    expect(committed).toBe(configReferenceMarkdown());
  });
});
