// Security groups (one per role, the rules of security.ts) and server groups (one per role).
import * as openstack from '@pulumi/openstack';
import type { Context } from './context.js';
import { roleGroupName } from './layout.js';
import { securityRules, type RoleGroup } from './security.js';

export type RoleGroups = Record<RoleGroup, openstack.networking.SecGroup>;

export function securityGroups(ctx: Context, loadBalancer: boolean): RoleGroups {
  const group = (role: RoleGroup) =>
    new openstack.networking.SecGroup(
      ctx.name('secgroup', role),
      {
        name: roleGroupName(ctx.cluster, role),
        description: `nkd cluster ${ctx.cluster}: ${role} nodes`,
        // Neutron's default egress rules are replaced by explicit ones, so the rules are the whole policy.
        deleteDefaultRules: true,
        tags: ctx.tags,
      },
      ctx.opts,
    );
  const groups: RoleGroups = { 'control-plane': group('control-plane'), worker: group('worker') };
  const rules = securityRules({
    nodeCidr: ctx.platform.network.cidr,
    apiAllowedCIDRs: ctx.platform.apiAllowedCIDRs,
    loadBalancer,
    allowAllInCluster: ctx.platform.allowAllInCluster,
  });
  for (const rule of rules) {
    new openstack.networking.SecGroupRule(
      ctx.name('rule', `${rule.group}-${rule.key}`),
      {
        securityGroupId: groups[rule.group].id,
        description: rule.purpose,
        direction: rule.direction,
        ethertype: rule.ethertype,
        protocol: rule.protocol,
        portRangeMin: rule.ports?.min,
        portRangeMax: rule.ports?.max,
        remoteGroupId: rule.remote.kind === 'group' ? groups[rule.remote.group].id : undefined,
        remoteIpPrefix: rule.remote.kind === 'cidr' ? rule.remote.cidr : undefined,
      },
      // Every field of a rule forces a replacement, and Neutron's duplicate check ignores the
      // description: a new rule made before the old one is deleted would collide with it (409).
      { ...ctx.opts, deleteBeforeReplace: true },
    );
  }
  return groups;
}

export type ServerGroups = Partial<Record<RoleGroup, openstack.compute.ServerGroup>>;

export function serverGroups(ctx: Context): ServerGroups {
  const make = (role: RoleGroup, policy: string) =>
    new openstack.compute.ServerGroup(
      ctx.name('server-group', role),
      { name: roleGroupName(ctx.cluster, role), policies: [policy] },
      ctx.opts,
    );
  const { controlPlane, workers } = ctx.platform.serverGroups;
  return {
    'control-plane': make('control-plane', controlPlane),
    ...(workers === 'none' ? {} : { worker: make('worker', workers) }),
  };
}
