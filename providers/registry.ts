// The explicit list of infrastructure providers. Adding one means a folder under providers/ and one
// line in each of the two maps below; nothing in src/ names a provider.
import { libvirtConfigSchema } from './libvirt/config.js';
import { libvirtProvider } from './libvirt/descriptor.js';
import { openstackConfigSchema } from './openstack/config.js';
import { openstackProvider } from './openstack/descriptor.js';
import type { ProviderDescriptor } from './types.js';

/** `spec.platform` keys: each provider's section schema (exactly one must be set). */
export const platformConfigShape = {
  libvirt: libvirtConfigSchema.optional().describe(libvirtProvider.summary),
  openstack: openstackConfigSchema.optional().describe(openstackProvider.summary),
};

export type PlatformName = keyof typeof platformConfigShape;

const PROVIDERS: { [K in PlatformName]: ProviderDescriptor<never> } = {
  libvirt: libvirtProvider as ProviderDescriptor<never>,
  openstack: openstackProvider as ProviderDescriptor<never>,
};

export const PLATFORM_NAMES = Object.keys(PROVIDERS) as PlatformName[];

/** The descriptor for a platform, typed loosely: callers pass it the config section they validated. */
export function providerFor(name: PlatformName): ProviderDescriptor<unknown> {
  return PROVIDERS[name] as unknown as ProviderDescriptor<unknown>;
}
