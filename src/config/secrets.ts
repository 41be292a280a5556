// The config lives in git, so anything that looks like a credential is refused with a pointer to where
// it belongs instead. Checked on the raw YAML so the key is named even where the schema has no such key.
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { KeyPath } from './locate.js';
import type { Problem } from './problems.js';

const SECRET_KEY = /(password|passwd|secret|token|privatekey|certificatekey|credential)/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

function hint(path: KeyPath): string {
  if (path.includes('openstack'))
    return 'use clouds.yaml (spec.platform.openstack.cloud) or OS_* environment variables';
  return 'nkd generates cluster secrets itself and keeps them in the state directory';
}

export function findInlineSecrets(node: unknown, path: KeyPath = []): Problem[] {
  const problems: Problem[] = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key !== undefined && isSecretKey(key)) {
        problems.push({
          path,
          keyOf: key,
          severity: 'error',
          message: `secrets are never accepted in the config file; ${hint(path)}`,
        });
      } else if (key !== undefined) {
        problems.push(...findInlineSecrets(pair.value as Node, [...path, key]));
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => problems.push(...findInlineSecrets(item, [...path, i])));
  }
  return problems;
}
