// Checks of kubernetes.imageRepository and spec.registries that the schema cannot express: port
// ranges, one entry per host, settings that contradict each other, and a CA that is really a
// certificate (it is written to each node as is, and a runtime handed a broken CA file fails every pull).
import { X509Certificate } from 'node:crypto';
import { capValue } from '../lib/cap.js';
import { registryPort } from './images.js';
import { error, type Problem } from './problems.js';
import type { ClusterConfig } from './schema.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

export function checkRegistries(config: ClusterConfig): Problem[] {
  const problems: Problem[] = [];
  const repoPort = registryPort(config.spec.kubernetes.imageRepository.split('/')[0]!);
  if (repoPort !== undefined && (repoPort < 1 || repoPort > 65535)) {
    problems.push(error(['spec', 'kubernetes', 'imageRepository'], 'port must be from 1 to 65535'));
  }
  const seen = new Set<string>();
  config.spec.registries.forEach((registry, i) => {
    const path = (key: string) => ['spec', 'registries', i, key];
    const port = registryPort(registry.host);
    if (port !== undefined && (port < 1 || port > 65535)) {
      problems.push(error(path('host'), 'port must be from 1 to 65535'));
    }
    if (seen.has(registry.host)) {
      problems.push(error(path('host'), `${registry.host} is listed twice; merge the two entries`));
    }
    seen.add(registry.host);
    if (registry.plainHTTP && (registry.insecureSkipVerify || registry.ca !== '')) {
      const key = registry.ca !== '' ? 'ca' : 'insecureSkipVerify';
      problems.push(error(path(key), 'does not apply with plainHTTP: true (plain HTTP has no TLS)'));
    }
    if (registry.insecureSkipVerify && registry.ca !== '') {
      problems.push(error(path('ca'), 'has no effect with insecureSkipVerify: true; keep only one'));
    }
    if (registry.ca !== '') {
      const reason = caProblem(registry.ca);
      if (reason) problems.push(error(path('ca'), reason));
    }
  });
  return problems;
}

/** Why `pem` is not one or more PEM certificates, or undefined when it is. */
export function caProblem(pem: string): string | undefined {
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) return 'is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)';
  for (const [block, label] of blocks) {
    if (label !== 'CERTIFICATE') {
      return label!.includes('PRIVATE KEY')
        ? 'holds a private key; give only the CA certificate'
        : `holds a "${capValue(label!)}" block; only CERTIFICATE blocks belong here`;
    }
    try {
      new X509Certificate(block);
    } catch {
      return 'holds a CERTIFICATE block that does not parse';
    }
  }
  const rest = pem.replace(PEM_BLOCK, '').trim();
  if (rest !== '') return 'holds text outside its PEM blocks';
  return undefined;
}
