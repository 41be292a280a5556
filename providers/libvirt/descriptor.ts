import { existsSync } from 'node:fs';
import { capValue } from '../../src/lib/cap.js';
import type { ProviderDescriptor } from '../types.js';
import { libvirtConfigSchema, libvirtTemplateSection, type LibvirtConfig } from './config.js';
import { libvirtNodeNetwork, vipChecks } from './network.js';

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
  nodeNetwork: libvirtNodeNetwork,
  check: (config) => [
    ...uriChecks(config),
    ...imageChecks(config),
    ...domainTypeChecks(config),
    ...vipChecks(config),
  ],
  loadProgram: async () => (await import('./program.js')).libvirtProgram,
};

type Problem = ReturnType<NonNullable<ProviderDescriptor<LibvirtConfig>['check']>>[number];

function imageChecks(config: LibvirtConfig, exists: (path: string) => boolean = existsSync): Problem[] {
  if (!config.image.startsWith('/')) {
    return [
      {
        path: ['image'],
        message: `"${capValue(config.image)}" must be an absolute path to the NestOS qcow2 image`,
        severity: 'error',
      },
    ];
  }
  // Only a local hypervisor's files can be checked from here; the path is read by libvirt at deploy.
  if (isLocalUri(config.uri) && !exists(config.image)) {
    return [
      {
        path: ['image'],
        message: `${capValue(config.image, 200)} does not exist on this machine (the libvirt host of ${config.uri}); deploy would fail when it copies the base image`,
        severity: 'warning',
      },
    ];
  }
  return [];
}

/** `qemu[+transport]://[user@][host[:port]]/system|session[?params]`: the QEMU/KVM driver nkd drives. */
const LIBVIRT_URI =
  /^qemu(\+(unix|ssh|libssh|libssh2|tcp|tls|ext))?:\/\/([^\s/?#@:]+@)?(\[[0-9a-fA-F:.]+\]|[^\s/?#@:[\]]+)?(:\d{1,5})?\/(system|session)(\?[^\s#]*)?$/;

function uriChecks(config: LibvirtConfig): Problem[] {
  if (LIBVIRT_URI.test(config.uri)) return [];
  return [
    {
      path: ['uri'],
      message: `"${capValue(config.uri)}" is not a QEMU/KVM libvirt URI (e.g. qemu:///system, qemu+ssh://user@host/system)`,
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
