// infraPlatform → spec.platform.<libvirt|openstack>. Keys come from providers/*/config.ts; anything
// the original needed that nkd keeps elsewhere (OpenStack credentials) is dropped with a pointer.
import { isAbsolute, resolve } from 'node:path';
import { formatIpv4, parseIpv4 } from '../../lib/ipv4.js';
import { given, type ConvertContext } from './context.js';
import type { ConvertedGroup } from './nodes.js';
import type { OriginalConfig } from './original.js';

type Infra = NonNullable<OriginalConfig['infraPlatform']>;

const LIBVIRT_KEYS = ['uri', 'osPath', 'cidr', 'gateway'];
const OPENSTACK_KEYS = [
  'username',
  'password',
  'tenantName',
  'authURL',
  'region',
  'internalNetwork',
  'externalNetwork',
  'glanceName',
  'availabilityZone',
];

/** Where each OpenStack credential goes instead: clouds.yaml key and OS_* variable. */
const CREDENTIALS: Record<string, [string, string]> = {
  authURL: ['auth.auth_url', 'OS_AUTH_URL'],
  username: ['auth.username', 'OS_USERNAME'],
  password: ['auth.password', 'OS_PASSWORD'],
  tenantName: ['auth.project_name', 'OS_PROJECT_NAME'],
};

export function convertPlatform(
  platform: 'libvirt' | 'openstack',
  infra: Infra,
  groups: { controlPlane: ConvertedGroup; workers: ConvertedGroup },
  name: string,
  ctx: ConvertContext,
): Record<string, unknown> {
  const used = platform === 'libvirt' ? LIBVIRT_KEYS : OPENSTACK_KEYS;
  for (const [key, value] of Object.entries(infra)) {
    if (!used.includes(key) && given(String(value)) !== undefined) {
      ctx.warn(`infraPlatform.${key}`, `is not used with platform ${platform}; ignored`);
    }
  }
  ctx.from(`spec.platform.${platform}`, 'infraPlatform');
  return platform === 'libvirt' ? libvirt(infra, ctx) : openstack(infra, groups, name, ctx);
}

function libvirt(infra: Infra, ctx: ConvertContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const uri = given(infra.uri);
  if (uri !== undefined) {
    out.uri = uri;
    ctx.from('spec.platform.libvirt.uri', 'infraPlatform.uri');
  }
  const osPath = given(infra.osPath);
  if (osPath === undefined) {
    ctx.fail(
      'infraPlatform.osPath',
      'is not set; nkd needs the path of the NestOS qcow2 base image (spec.platform.libvirt.image)',
    );
  } else {
    // nkd wants an absolute path so a config means the same thing from any working directory.
    const image = isAbsolute(osPath) ? osPath : resolve(ctx.options.sourceDir, osPath);
    if (image !== osPath) {
      ctx.warn('infraPlatform.osPath', `is relative; spec.platform.libvirt.image is the absolute ${image}`);
    }
    out.image = image;
    ctx.from('spec.platform.libvirt.image', 'infraPlatform.osPath');
  }
  const network: Record<string, string> = {};
  for (const key of ['cidr', 'gateway'] as const) {
    const value = given(infra[key]);
    if (value === undefined) continue;
    network[key] = value;
    ctx.from(`spec.platform.libvirt.network.${key}`, `infraPlatform.${key}`);
  }
  if (Object.keys(network).length > 0) out.network = network;
  return out;
}

function openstack(
  infra: Infra,
  groups: { controlPlane: ConvertedGroup; workers: ConvertedGroup },
  name: string,
  ctx: ConvertContext,
): Record<string, unknown> {
  // Credentials never go into an nkd config: it names a clouds.yaml entry, here the cluster's name.
  for (const [key, [cloudsKey, env]] of Object.entries(CREDENTIALS)) {
    if (given(infra[key as keyof Infra]) === undefined) continue;
    const secret = key === 'password' ? 'a secret, ' : '';
    ctx.warn(
      `infraPlatform.${key}`,
      `dropped (${secret}nkd keeps no credentials in the config): put it in clouds.yaml as clouds.${name}.${cloudsKey} (spec.platform.openstack.cloud is "${name}"), or in ${env}`,
    );
  }
  const out: Record<string, unknown> = { cloud: name };
  const image = given(infra.glanceName);
  if (image === undefined) {
    ctx.fail(
      'infraPlatform.glanceName',
      'is not set; nkd needs the Glance image of NestOS (spec.platform.openstack.image)',
    );
  } else {
    out.image = image;
    ctx.from('spec.platform.openstack.image', 'infraPlatform.glanceName');
  }
  out.flavor = flavors(groups, ctx);
  const network: Record<string, string> = {};
  const internal = given(infra.internalNetwork);
  const cidr = inferCidr([...(groups.controlPlane.hosts ?? []), ...(groups.workers.hosts ?? [])]);
  if (cidr !== undefined) network.cidr = cidr;
  if (internal !== undefined) {
    network.name = internal;
    ctx.from('spec.platform.openstack.network', 'infraPlatform.internalNetwork');
    // nkd looks the subnet up by its CIDR, which the original never needed to know.
    ctx.warn(
      'infraPlatform.internalNetwork',
      cidr === undefined
        ? `nkd attaches the nodes to the existing network "${internal}" and finds its subnet by CIDR: set spec.platform.openstack.network.cidr to it (left at nkd's default 10.0.0.0/24)`
        : `nkd attaches the nodes to the existing network "${internal}" and finds its subnet by CIDR: spec.platform.openstack.network.cidr is ${cidr}, guessed from the node addresses; check it`,
    );
  } else if (cidr !== undefined) {
    ctx.from('spec.platform.openstack.network.cidr', 'master');
  }
  if (Object.keys(network).length > 0) out.network = network;
  for (const key of ['region', 'externalNetwork', 'availabilityZone'] as const) {
    const value = given(infra[key]);
    if (value === undefined) continue;
    out[key] = value;
    ctx.from(`spec.platform.openstack.${key}`, `infraPlatform.${key}`);
  }
  return out;
}

function flavorName(g: ConvertedGroup): string {
  return `nkd-${g.cpus}c-${g.memoryMiB}m-${g.diskGiB}g`;
}

/** The original created a flavor per node from hardwareInfo; nkd boots existing ones. */
function flavors(
  groups: { controlPlane: ConvertedGroup; workers: ConvertedGroup },
  ctx: ConvertContext,
): string | { controlPlane: string; workers: string } {
  const cp = flavorName(groups.controlPlane);
  const workers = flavorName(groups.workers);
  const needed =
    groups.workers.count === 0 || cp === workers
      ? [groups.controlPlane]
      : [groups.controlPlane, groups.workers];
  const commands = needed
    .map(
      (g) =>
        `openstack flavor create --vcpus ${g.cpus} --ram ${g.memoryMiB} --disk ${g.diskGiB} ${flavorName(g)}`,
    )
    .join('; ');
  ctx.warn(
    'infraPlatform',
    `nkd boots existing flavors instead of creating them: create ${needed.length === 1 ? 'it' : 'them'} (${commands}) or set spec.platform.openstack.flavor to ${needed.length === 1 ? 'an existing one' : 'existing ones'}`,
  );
  ctx.from('spec.platform.openstack.flavor', 'infraPlatform');
  return needed.length === 1 ? cp : { controlPlane: cp, workers };
}

/**
 * The smallest network of /24 or larger holding every fixed node address, or undefined when no node
 * has one. nkd allocates the other nodes from the same network, so it must hold all of them.
 */
export function inferCidr(hosts: readonly { ip?: string }[]): string | undefined {
  const addresses = hosts.map((h) => (h.ip === undefined ? undefined : parseIpv4(h.ip)));
  const known = addresses.filter((a): a is number => a !== undefined);
  if (known.length === 0) return undefined;
  for (let prefix = 24; prefix >= 8; prefix--) {
    const size = 2 ** (32 - prefix);
    const network = known[0]! - (known[0]! % size);
    if (known.every((a) => a - (a % size) === network)) return `${formatIpv4(network)}/${prefix}`;
  }
  return undefined;
}
