import { capValue } from '../../src/lib/cap.js';
import type { PlatformSetting, ProviderDescriptor } from '../types.js';
import { openstackNodeNetwork } from './addresses.js';
import { configDeleteUrl } from './tempurl.js';
import { checkOpenStackConfig } from './checks.js';
import {
  DEFAULT_IGNITION_PORT,
  flavorFor,
  openstackConfigSchema,
  openstackTemplateSection,
  type OpenStackConfig,
} from './config.js';

/** Must match the installed @pulumi/openstack, whose plugin the Pulumi CLI downloads. */
const OPENSTACK_PLUGIN_VERSION = '3.15.2';

const KEY = 'spec.platform.openstack';
const NEW_CLUSTER = 'deploy a new cluster to change it';

/**
 * The platform settings the plan records, so `nkd diff` and `deploy` see their edits before Pulumi does.
 * Each `why` says what the edit would do to running nodes.
 */
export function openstackPlanSettings(config: OpenStackConfig): PlatformSetting[] {
  const refuse = (path: string, value: string | undefined, why: string): PlatformSetting => ({
    path: `${KEY}.${path}`,
    value: value ?? '(default)',
    onChange: 'refuse',
    why,
  });
  const rv = config.rootVolume;
  return [
    refuse('cloud', config.cloud, `every resource would move to another cloud: ${NEW_CLUSTER}`),
    refuse('region', config.region, `every resource would move to another region: ${NEW_CLUSTER}`),
    refuse(
      'network.name',
      config.network.name,
      `nodes would get new ports on another network, asking for fixed addresses still in use: ${NEW_CLUSTER}`,
    ),
    refuse(
      'externalNetwork',
      config.externalNetwork,
      `the router gateway and every floating IP would be replaced: ${NEW_CLUSTER}`,
    ),
    refuse(
      'availabilityZone',
      config.availabilityZone,
      `Nova replaces an instance to move it to another zone, and all would move at once: ${NEW_CLUSTER}`,
    ),
    refuse(
      'rootVolume',
      rv === undefined ? 'none' : `${rv.sizeGiB} GiB ${rv.type ?? ''} ${rv.availabilityZone ?? ''}`.trim(),
      `a new boot device replaces every instance at once: ${NEW_CLUSTER}`,
    ),
    refuse(
      'serverGroups',
      `${config.serverGroups.controlPlane}/${config.serverGroups.workers}`,
      `a server group's policy cannot change; a new group would replace every instance: ${NEW_CLUSTER}`,
    ),
    refuse(
      'apiEndpoint.floatingIP',
      config.apiEndpoint.floatingIP,
      `it is in the API server certificate of every control plane: ${NEW_CLUSTER}`,
    ),
    {
      path: `${KEY}.flavor`,
      value: `${flavorFor(config, 'control-plane')}/${flavorFor(config, 'worker')}`,
      onChange: 'new-nodes-only',
      why:
        'Nova would resize (reboot) every node of a role at once, so nkd leaves existing nodes as they are: ' +
        'nodes created from now on get the new flavor; resize others one at a time with `openstack server resize`',
    },
    {
      path: `${KEY}.image`,
      value: config.image,
      onChange: 'new-nodes-only',
      why: 'a new image rebuilds (wipes) an instance, so existing nodes keep theirs and update in place',
    },
  ];
}

/** The advertised host:port when it is one (a malformed one is reported under its own key). */
function listenDefault(advertise: string | undefined): string {
  return advertise !== undefined && /^.+:\d{1,5}$/.test(advertise)
    ? advertise
    : `0.0.0.0:${DEFAULT_IGNITION_PORT}`;
}

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
  nodeNetwork: openstackNodeNetwork,
  nodeSizing: 'platform',
  sizedBy: {
    cpus: `the flavor sizes the nodes (${KEY}.flavor)`,
    memoryMiB: `the flavor sizes the nodes (${KEY}.flavor)`,
    diskGiB: `the flavor's disk sizes the root disk, or ${KEY}.rootVolume.sizeGiB`,
  },
  planSettings: openstackPlanSettings,
  check: (config) => [...ignitionServiceChecks(config), ...checkOpenStackConfig(config)],
  ignitionService: (config) => ({
    // Listening on the advertised address (not 0.0.0.0) keeps the service off every other interface.
    listen: config.ignitionService.listen ?? listenDefault(config.ignitionService.advertise),
    advertise: config.ignitionService.advertise,
    path: ['spec', 'platform', 'openstack', 'ignitionService'],
  }),
  objectStoreDelivery: (config) =>
    config.ignitionDelivery === 'swift'
      ? { urlLifetimeMinutes: config.swiftTempURLMinutes, deleteUrl: configDeleteUrl }
      : undefined,
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
  if (config.ignitionDelivery === 'swift') {
    if (advertise !== undefined || listen !== undefined)
      problems.push({
        path: ['ignitionService'],
        message: 'is not used with ignitionDelivery: swift (nodes fetch their configs from Swift); remove it',
        severity: 'warning',
      });
    return problems;
  }
  if (advertise === undefined)
    problems.push({ path: ['ignitionService', 'advertise'], message: ADVERTISE_UNSET, severity: 'warning' });
  else if (!isHostPort(advertise))
    problems.push({
      path: ['ignitionService', 'advertise'],
      message: `"${capValue(advertise)}" must be host:port with a port from 1 to 65535`,
      severity: 'error',
    });
  if (listen !== undefined && !isHostPort(listen))
    problems.push({
      path: ['ignitionService', 'listen'],
      message: `"${capValue(listen)}" must be address:port with a port from 1 to 65535`,
      severity: 'error',
    });
  return problems;
}
