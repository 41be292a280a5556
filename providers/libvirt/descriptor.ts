import type { ProviderDescriptor } from '../types.js';
import { libvirtConfigSchema, libvirtTemplateSection, type LibvirtConfig } from './config.js';

export const libvirtProvider: ProviderDescriptor<LibvirtConfig> = {
  name: 'libvirt',
  summary: 'KVM virtual machines on a libvirt host, driven through virsh (Pulumi dynamic resources)',
  configSchema: libvirtConfigSchema,
  templateSection: libvirtTemplateSection,
  // fw_cfg hands each domain its full config: no network service, nothing readable by other guests.
  delivery: 'direct',
  plugins: [],
  nodeNetwork: (config) => ({ cidr: config.network.cidr, gateway: config.network.gateway }),
  check: (config) =>
    config.image.startsWith('/')
      ? []
      : [
          {
            path: ['image'],
            message: `"${config.image}" must be an absolute path to the NestOS qcow2 image`,
            severity: 'error',
          },
        ],
  loadProgram: async () => (await import('./program.js')).libvirtProgram,
};
