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

/** scheme://user:password@host...: a credential in a URL (a libvirt URI, a manifest URL). */
export function hasUrlPassword(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^\s/?#@]*:[^\s/?#@]*@/i.test(value.trim());
}

function urlHint(path: KeyPath): string {
  if (path.includes('libvirt')) return "use an SSH key (qemu+ssh://user@host/system) or libvirt's auth.conf";
  return hint(path);
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
  } else if (isScalar(node) && typeof node.value === 'string' && hasUrlPassword(node.value)) {
    problems.push({
      path,
      severity: 'error',
      message: `holds a password (user:password@host); secrets are never accepted in the config file; ${urlHint(path)}`,
    });
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => problems.push(...findInlineSecrets(item, [...path, i])));
  }
  return problems;
}
