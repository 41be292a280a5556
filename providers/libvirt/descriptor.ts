import { existsSync } from 'node:fs';
import type { ProviderDescriptor } from '../types.js';
import { libvirtConfigSchema, libvirtTemplateSection, type LibvirtConfig } from './config.js';

export const libvirtProvider: ProviderDescriptor<LibvirtConfig> = {
  name: 'libvirt',
  summary: 'KVM virtual machines on a libvirt host, driven through virsh (Pulumi dynamic resources)',
  configSchema: libvirtConfigSchema,
  templateSection: libvirtTemplateSection,
  // fw_cfg hands each domain its full config: no network service, nothing readable by other guests.
  delivery: 'direct',
  // Creates adopt an object of the same name that carries nkd's UUID (storage-operations.ts).
  adoptsInterruptedCreates: true,
  plugins: [],
  nodeNetwork: (config) => ({ cidr: config.network.cidr, gateway: config.network.gateway }),
  check: (config) => [...imageChecks(config), ...domainTypeChecks(config)],
  loadProgram: async () => (await import('./program.js')).libvirtProgram,
};

type Problem = ReturnType<NonNullable<ProviderDescriptor<LibvirtConfig>['check']>>[number];

function imageChecks(config: LibvirtConfig): Problem[] {
  if (config.image.startsWith('/')) return [];
  return [
    {
      path: ['image'],
      message: `"${config.image}" must be an absolute path to the NestOS qcow2 image`,
      severity: 'error',
    },
  ];
}

/** A URI whose hypervisor is this machine (no host part): its /dev/kvm is the one that matters. */
export function isLocalUri(uri: string): boolean {
  return /^qemu(\+unix)?:\/\/\/(system|session)\b/.test(uri);
}

/** KVM guests on this machine need /dev/kvm; without it libvirt fails at the first domain start. */
export function domainTypeChecks(config: LibvirtConfig, kvmDevice = '/dev/kvm'): Problem[] {
  if (config.domainType !== 'kvm' || !isLocalUri(config.uri) || existsSync(kvmDevice)) return [];
  return [
    {
      path: ['domainType'],
      message: `domainType kvm needs ${kvmDevice}, which this machine lacks: enable KVM, or set domainType: qemu (software emulation, slow)`,
      severity: 'error',
    },
  ];
}
