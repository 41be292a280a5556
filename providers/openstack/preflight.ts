// Pure: what an existing network must be like before nkd creates anything on it, judged from Neutron's
// answers (the program looks them up; tests feed recorded answers). Refusals name what is wrong and
// the key to change; doubts that cannot be settled from a project's view are warnings.
import { parseIpv4 } from '../../src/lib/ipv4.js';

/** The subnet as `networking.getSubnet` answers. */
export interface SubnetAnswer {
  id: string;
  cidr: string;
  gatewayIp: string;
  enableDhcp: boolean;
  allocationPools: { start: string; end: string }[];
}

/** A port that holds one of the planned addresses, as `networking.getPort` answers. */
export interface PortAnswer {
  id: string;
  name?: string;
  deviceOwner?: string;
  allTags: string[];
  fixedIp: string;
}

/** The router behind the subnet's gateway, when this project can see its interface. */
export interface RouteAnswer {
  routerId: string;
  externalNetworkId: string;
}

export interface ExistingNetworkAnswers {
  networkName: string;
  subnet: SubnetAnswer;
  /** Ports found holding a planned address (ours from an earlier run included). */
  ports: PortAnswer[];
  /** Undefined: no router interface at the gateway is visible to this project. */
  route: RouteAnswer | undefined;
  /** The external network's id, when floating IPs are wanted from it. */
  externalNetworkId: string | undefined;
}

export interface PlannedAddress {
  address: string;
  /** What takes it: a node name or "the API load balancer". */
  owner: string;
  /** The name nkd gives the port that holds it: a port with this name and the cluster tag is ours. */
  portName: string;
}

export interface Judgement {
  refusals: string[];
  warnings: string[];
}

const KEY = 'spec.platform.openstack';

function inPool(pools: SubnetAnswer['allocationPools'], address: number): boolean {
  return pools.some((p) => {
    const start = parseIpv4(p.start);
    const end = parseIpv4(p.end);
    return start !== undefined && end !== undefined && start <= address && address <= end;
  });
}

export function judgeExistingNetwork(
  answers: ExistingNetworkAnswers,
  expect: { gateway: string; clusterTag: string; planned: PlannedAddress[] },
): Judgement {
  const { subnet } = answers;
  const refusals: string[] = [];
  const warnings: string[] = [];
  const net = `network ${answers.networkName} (subnet ${subnet.cidr})`;
  if (subnet.gatewayIp === '') {
    refusals.push(`${net} has no gateway: nodes could not reach the Ignition service or registries`);
  } else if (subnet.gatewayIp !== expect.gateway) {
    refusals.push(
      `${net} has gateway ${subnet.gatewayIp}, but the plan assumes ${expect.gateway}: set ${KEY}.network.gateway: ${subnet.gatewayIp}`,
    );
  }
  if (!subnet.enableDhcp)
    refusals.push(`${net} has DHCP disabled: nodes take their planned address by DHCP from Neutron`);
  for (const planned of expect.planned) {
    if (planned.address === subnet.gatewayIp) {
      refusals.push(`${planned.address} (${planned.owner}) is the gateway of ${net}`);
      continue;
    }
    for (const port of answers.ports.filter((p) => p.fixedIp === planned.address)) {
      const ours = port.name === planned.portName && port.allTags.includes(expect.clusterTag);
      if (ours) continue;
      const what = port.deviceOwner ? `${port.deviceOwner} port` : 'port';
      refusals.push(
        `${planned.address} (${planned.owner}) is already held by ${what} ${port.name || port.id} on ${net}: fix node addresses with controlPlane/workers.hosts, or free it`,
      );
    }
    const value = parseIpv4(planned.address);
    if (value !== undefined && inPool(subnet.allocationPools, value)) {
      warnings.push(
        `${planned.address} (${planned.owner}) is inside an allocation pool of ${net}: Neutron may give it to another port before nkd creates this one`,
      );
    }
  }
  if (answers.externalNetworkId !== undefined) {
    if (answers.route === undefined) {
      warnings.push(
        `no router interface at ${net}'s gateway is visible to this project: floating IPs need the subnet routed to ${KEY}.externalNetwork`,
      );
    } else if (answers.route.externalNetworkId !== answers.externalNetworkId) {
      refusals.push(
        `${net} is routed by router ${answers.route.routerId} to external network ${answers.route.externalNetworkId || '(none)'}, not to ${KEY}.externalNetwork: floating IPs from it cannot reach the nodes`,
      );
    }
  }
  return { refusals, warnings };
}

/** One line for the error: every refusal, so one run shows everything to fix. */
export function refusalMessage(judgement: Judgement): string {
  return `openstack: the existing network cannot be used: ${judgement.refusals.join('; ')}`;
}
