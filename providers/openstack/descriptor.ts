import { capValue } from '../../src/lib/cap.js';
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
    const problems: { path: string[]; message: string; severity: 'error' | 'warning' }[] = [];
    problems.push(...ignitionServiceChecks(config));
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

/** `host:port` (a bracketed IPv6 host allowed) with a port from 1 to 65535. */
function isHostPort(text: string): boolean {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(text);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}

/**
 * Nodes boot a pointer to nkd's Ignition service, so deploy needs the address they reach it at. A
 * dry-run renders without it, hence a warning here; deploy refuses it at this same line.
 */
export const ADVERTISE_UNSET =
  "is not set: deploy needs the host:port at which the new nodes reach this machine's Ignition service (deploy --dry-run works without it)";

function ignitionServiceChecks(
  config: OpenStackConfig,
): { path: string[]; message: string; severity: 'error' | 'warning' }[] {
  const { advertise, listen } = config.ignitionService;
  const problems: { path: string[]; message: string; severity: 'error' | 'warning' }[] = [];
  if (advertise === undefined)
    problems.push({ path: ['ignitionService', 'advertise'], message: ADVERTISE_UNSET, severity: 'warning' });
  else if (!isHostPort(advertise))
    problems.push({
      path: ['ignitionService', 'advertise'],
      message: `"${capValue(advertise)}" must be host:port with a port from 1 to 65535`,
      severity: 'error',
    });
  if (!isHostPort(listen))
    problems.push({
      path: ['ignitionService', 'listen'],
      message: `"${capValue(listen)}" must be address:port with a port from 1 to 65535`,
      severity: 'error',
    });
  return problems;
}
