// Builds cluster configs for tests from small overrides, through the real parser so defaults apply.
import { stringify } from 'yaml';
import { parseClusterConfig } from '../../src/config/load.js';
import type { ClusterConfig } from '../../src/config/schema.js';

export const TEST_SSH_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh1cR1G4dbgS0bY6tV1v7aZx2Ck3Jr0yGm9oN2kQ0sE test@nkd';

export interface ConfigOverrides {
  name?: string;
  version?: string;
  runtime?: string;
  controlPlane?: Record<string, unknown>;
  workers?: Record<string, unknown>;
  kubernetes?: Record<string, unknown>;
  releaseImage?: string;
  sshAuthorizedKeys?: string[];
  platform?: Record<string, unknown>;
  registries?: Record<string, unknown>[];
}

export function configObject(o: ConfigOverrides = {}): Record<string, unknown> {
  return {
    apiVersion: 'nkd.nestos.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name: o.name ?? 'demo' },
    spec: {
      kubernetes: { version: o.version ?? 'v1.37.2', ...o.kubernetes },
      runtime: o.runtime ?? 'containerd',
      ...(o.registries ? { registries: o.registries } : {}),
      // OpenStack's flavor sizes the nodes and refuses sizes written here.
      controlPlane: {
        count: 3,
        ...(o.platform?.openstack === undefined ? { cpus: 2, memoryMiB: 4096 } : {}),
        ...o.controlPlane,
      },
      workers: { count: 2, ...o.workers },
      access: { sshAuthorizedKeys: o.sshAuthorizedKeys ?? [TEST_SSH_KEY] },
      os: { releaseImage: o.releaseImage ?? '' },
      platform: o.platform ?? {
        libvirt: { image: '/var/lib/libvirt/images/nestos.qcow2', network: { cidr: '192.168.132.0/24' } },
      },
    },
  };
}

export function configYaml(o: ConfigOverrides = {}): string {
  return stringify(configObject(o));
}

/** A validated config; fails the test with the problems when it is not valid. */
export function validConfig(o: ConfigOverrides = {}): ClusterConfig {
  const parsed = parseClusterConfig(configYaml(o), 'test.yaml');
  if (!parsed.config || parsed.errors.length > 0) {
    throw new Error(
      `test config is invalid:\n${parsed.errors.map((e) => `${e.path}: ${e.message}`).join('\n')}`,
    );
  }
  return parsed.config;
}
