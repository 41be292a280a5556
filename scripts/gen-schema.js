// Writes the generated docs from the compiled schema (run through `npm run schema`):
// docs/cluster-config.schema.json and docs/config-reference.md.
import { writeFileSync } from 'node:fs';
import { clusterConfigJsonSchemaText } from '../dist/src/config/json-schema.js';
import { configReferenceMarkdown } from '../dist/src/config/reference.js';

for (const [name, text] of [
  ['cluster-config.schema.json', clusterConfigJsonSchemaText()],
  ['config-reference.md', configReferenceMarkdown()],
]) {
  const target = new URL(`../docs/${name}`, import.meta.url);
  writeFileSync(target, text);
  console.log(`wrote ${target.pathname}`);
}
