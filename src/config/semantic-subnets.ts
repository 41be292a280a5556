// Room in the cluster's own networks: kube-controller-manager gives every node a /24 of podSubnet (its
// default node CIDR size with kubeadm), and the service subnet must hold the API server's service and
// cluster DNS (kubeadm puts it at the 10th address), within the API server's /12 upper bound.
import { isCidr, parseCidr } from '../lib/ipv4.js';
import { totalNodes } from '../plan/allocate.js';
import { error, warning, type Problem } from './problems.js';
import type { ClusterConfig } from './schema.js';

/** kube-controller-manager's --node-cidr-mask-size for IPv4 (kubeadm leaves the default). */
export const NODE_POD_CIDR_PREFIX = 24;
/** The API server refuses a larger service range. */
const SERVICE_PREFIX_MIN = 12;
/** The smallest block holding the 10th address (cluster DNS). */
const SERVICE_PREFIX_MAX = 28;
/** Below this many service addresses, a warning: a few dozen Services exhaust it. */
const SERVICE_PREFIX_WARN = 24;

export function checkSubnetRoom(config: ClusterConfig): Problem[] {
  const problems: Problem[] = [];
  const { podSubnet, serviceSubnet } = config.spec.kubernetes;
  const pods = parseCidr(podSubnet);
  const nodes = totalNodes(config);
  if (isCidr(pods)) {
    const path = ['spec', 'kubernetes', 'podSubnet'];
    if (pods.prefix > NODE_POD_CIDR_PREFIX) {
      problems.push(
        error(
          path,
          `${podSubnet} is too small: each node gets a /${NODE_POD_CIDR_PREFIX} of it for its pods (use /${NODE_POD_CIDR_PREFIX} or larger)`,
        ),
      );
    } else {
      const room = 2 ** (NODE_POD_CIDR_PREFIX - pods.prefix);
      if (nodes > room) {
        const needed = NODE_POD_CIDR_PREFIX - Math.ceil(Math.log2(nodes));
        problems.push(
          error(
            path,
            `${podSubnet} holds ${room} node pod CIDRs (/${NODE_POD_CIDR_PREFIX} each) but the cluster has ${nodes} nodes: use /${needed} or larger`,
          ),
        );
      }
    }
  }
  const services = parseCidr(serviceSubnet);
  if (isCidr(services)) {
    const path = ['spec', 'kubernetes', 'serviceSubnet'];
    if (services.prefix > SERVICE_PREFIX_MAX) {
      problems.push(
        error(
          path,
          `${serviceSubnet} is too small: it must hold the API server's service and cluster DNS at its 10th address (use /${SERVICE_PREFIX_MAX} or larger; /16 is usual)`,
        ),
      );
    } else if (services.prefix < SERVICE_PREFIX_MIN) {
      problems.push(
        error(
          path,
          `${serviceSubnet} is too large: the API server accepts at most /${SERVICE_PREFIX_MIN} (${2 ** (32 - SERVICE_PREFIX_MIN)} addresses)`,
        ),
      );
    } else if (services.prefix > SERVICE_PREFIX_WARN) {
      problems.push(
        warning(path, `${serviceSubnet} holds only ${services.size - 2} service addresses; /16 is usual`),
      );
    }
  }
  return problems;
}
