import type { ProviderDescriptor } from '../types.js';
import { openstackConfigSchema, openstackTemplateSection, type OpenStackConfig } from './config.js';

/** Must match the installed @pulumi/openstack, whose plugin the Pulumi CLI downloads. */
const OPENSTACK_PLUGIN_VERSION = '3.15.2';

export const openstackProvider: ProviderDescriptor<OpenStackConfig> = {
  name: 'openstack',
  summary: 'OpenStack instances, networks and security groups through @pulumi/openstack',
  configSchema: openstackConfigSchema,
  templateSection: openstackTemplateSection,
  // Nova user data is limited to 64 KiB and readable by the whole VM, so nodes boot a pointer.
  delivery: 'pointer',
  // Neutron and Nova objects made by an interrupted create are not recognisable as ours afterwards.
  adoptsInterruptedCreates: false,
  plugins: [{ name: 'openstack', version: OPENSTACK_PLUGIN_VERSION }],
  nodeNetwork: (config) => ({ cidr: config.network.cidr, gateway: config.network.gateway }),
  check: (config) => {
    const problems: { path: string[]; message: string; severity: 'error' }[] = [];
    if (config.externalNetwork === undefined && config.network.name === undefined) {
      problems.push({
        path: ['externalNetwork'],
        message:
          'is required when nkd creates the network (its router needs an external network); or set network.name',
        severity: 'error',
      });
    } else if (config.externalNetwork === undefined && config.floatingIPs !== 'none') {
      problems.push({
        path: ['floatingIPs'],
        message: `is ${config.floatingIPs} but no externalNetwork is set to take floating IPs from; set externalNetwork or floatingIPs: none`,
        severity: 'error',
      });
    }
    return problems;
  },
  ignitionService: (config) => ({
    listen: config.ignitionService.listen,
    advertise: config.ignitionService.advertise,
    path: ['spec', 'platform', 'openstack', 'ignitionService'],
  }),
  loadProgram: async () => (await import('./program.js')).openstackProgram,
};
