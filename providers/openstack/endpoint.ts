// The API endpoint as a keepalived VIP port, or as an Octavia load balancer in front of every control plane: a VIP port at the
// planned address (in the certificate), a TCP listener on 6443, a pool with a health monitor on
// /readyz and every control plane as a member. Losing (or rebooting) one control plane no longer
// takes the API away from kubelets, kube-proxy and kubeconfigs.
import * as openstack from '@pulumi/openstack';
import type * as pulumi from '@pulumi/pulumi';
import { API_SERVER_PORT } from '../../src/plan/plan.js';
import type { ClusterPlan } from '../../src/plan/types.js';
import type { Context, NodeNetwork } from './context.js';

/** Amphorae cut idle TCP flows after 50 s by default, which would break every API watch. */
export const LISTENER_TIMEOUT_MS = 3_600_000;

export interface LoadBalancer {
  vipPort: openstack.networking.Port;
  loadBalancer: openstack.loadbalancer.LoadBalancer;
}

/**
 * The keepalived VIP as a Neutron port: it holds the address (no other port, and no DHCP, can take it;
 * nkd recognises it on an existing network) and carries the floating IP, but no device is attached:
 * the control plane keepalived elects answers for it, which its port's allowed address pairs permit.
 */
export function apiVipPort(
  ctx: Context,
  net: NodeNetwork,
  address: string,
  securityGroupId: pulumi.Input<string>,
): openstack.networking.Port {
  return new openstack.networking.Port(
    ctx.name('port', 'api'),
    {
      name: ctx.name('port', 'api'),
      description: `nkd cluster ${ctx.cluster}: Kubernetes API VIP held by keepalived on the control planes`,
      networkId: net.networkId,
      adminStateUp: true,
      fixedIps: [{ subnetId: net.subnetId, ipAddress: address }],
      portSecurityEnabled: true,
      securityGroupIds: [securityGroupId],
      tags: ctx.tags,
    },
    { ...ctx.opts, deleteBeforeReplace: true },
  );
}

export function apiLoadBalancer(
  ctx: Context,
  plan: ClusterPlan,
  net: NodeNetwork,
  address: string,
): LoadBalancer {
  const { name, tags, opts, platform } = ctx;
  // ovn-octavia-provider balances on source IP and port only, and has no timeouts or allowed CIDRs
  // (it keeps client source addresses, so the control-plane security group filters them instead).
  const ovn = platform.apiEndpoint.octaviaProvider === 'ovn';
  const vipPort = new openstack.networking.Port(
    name('port', 'api'),
    {
      name: name('port', 'api'),
      description: `nkd cluster ${ctx.cluster}: Kubernetes API load balancer`,
      networkId: net.networkId,
      adminStateUp: true,
      fixedIps: [{ subnetId: net.subnetId, ipAddress: address }],
      tags,
    },
    { ...opts, deleteBeforeReplace: true },
  );
  const loadBalancer = new openstack.loadbalancer.LoadBalancer(
    name('lb'),
    {
      name: name('api'),
      description: `nkd cluster ${ctx.cluster}: Kubernetes API`,
      vipPortId: vipPort.id,
      loadbalancerProvider: platform.apiEndpoint.octaviaProvider,
      tags,
    },
    { ...opts, dependsOn: net.ready },
  );
  const listener = new openstack.loadbalancer.Listener(
    name('lb-listener'),
    {
      name: name('api'),
      loadbalancerId: loadBalancer.id,
      protocol: 'TCP',
      protocolPort: API_SERVER_PORT,
      allowedCidrs: ovn ? undefined : [platform.network.cidr, ...platform.apiAllowedCIDRs],
      timeoutClientData: ovn ? undefined : LISTENER_TIMEOUT_MS,
      timeoutMemberData: ovn ? undefined : LISTENER_TIMEOUT_MS,
      tags,
    },
    opts,
  );
  const pool = new openstack.loadbalancer.Pool(
    name('lb-pool'),
    {
      name: name('api'),
      listenerId: listener.id,
      protocol: 'TCP',
      lbMethod: ovn ? 'SOURCE_IP_PORT' : 'ROUND_ROBIN',
    },
    opts,
  );
  new openstack.loadbalancer.Monitor(
    name('lb-monitor'),
    {
      name: name('api'),
      poolId: pool.id,
      // /readyz answers anonymous requests; a member out of etcd quorum leaves the pool.
      type: ovn ? 'TCP' : 'HTTPS',
      urlPath: ovn ? undefined : '/readyz',
      expectedCodes: ovn ? undefined : '200',
      delay: 5,
      timeout: 5,
      maxRetries: 3,
      maxRetriesDown: 3,
    },
    opts,
  );
  // One batch resource: Octavia refuses concurrent member changes while the balancer is updating.
  new openstack.loadbalancer.Members(
    name('lb-members'),
    {
      poolId: pool.id,
      members: plan.nodes
        .filter((n) => n.role === 'control-plane')
        .map((n) => ({
          name: n.name,
          address: n.address,
          protocolPort: API_SERVER_PORT,
          subnetId: net.subnetId,
        })),
    },
    opts,
  );
  return { vipPort, loadBalancer };
}
