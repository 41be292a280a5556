// The JSON Schema editors use for completion and inline checks (docs/cluster-config.schema.json).
// Generated from the one typed schema so the two can never disagree; a test fails when the committed
// file is stale (refresh with `npm run schema`).
import { z } from 'zod';
import { clusterConfigSchema } from './schema.js';

export function clusterConfigJsonSchema(): object {
  const schema = z.toJSONSchema(clusterConfigSchema, { io: 'input', unrepresentable: 'any' });
  return {
    ...schema,
    $id: 'https://nestos.io/nkd/cluster-config.schema.json',
    title: 'nkd cluster config (nkd.nestos.io/v1alpha1, kind Cluster)',
  };
}

export function clusterConfigJsonSchemaText(): string {
  return `${JSON.stringify(clusterConfigJsonSchema(), null, 2)}\n`;
}
