// Builds each node's kubeadm configuration from the plan. Pure; serialized as one multi-document YAML.
import { stringify } from 'yaml';
// API servers listen on 6443 whatever port a load balancer in front of them exposes.
import { API_SERVER_PORT, endpointText } from '../plan/plan.js';
import type { ClusterPlan, NodePlan } from '../plan/types.js';
import type {
  Args,
  ClusterConfiguration,
  InitConfiguration,
  JoinConfiguration,
  KubeadmDocument,
  KubeletConfiguration,
  NodeRegistration,
  Taint,
} from './kubeadm-types.js';
import { KUBEADM_PATCHES_DIR, probeTolerance } from './kubeadm-patches.js';

/** Secrets the kubeadm configs carry; never the CA keys (those travel as files). */
export interface KubeadmSecrets {
  bootstrapToken: string;
  caCertHash: string;
}

/** Where kubeadm reads and writes certificates on the node. */
export const KUBEADM_PKI_DIR = '/etc/kubernetes/pki';
/** The deploy-time token outlives the slowest realistic first boot; later joins mint their own tokens. */
const BOOTSTRAP_TOKEN_TTL = '24h0m0s';
const CONTROL_PLANE_TAINT: Taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

/** How long kubeadm init waits for the control plane; kubeadm also sizes the startup probes from it. */
const CONTROL_PLANE_HEALTH_CHECK_MINUTES = 10;

/** kubeadm's own defaults for how long it waits for a healthy kubelet, and for a join's TLS bootstrap. */
const KUBELET_HEALTH_CHECK_MINUTES = 4;
const TLS_BOOTSTRAP_MINUTES = 5;

/**
 * With a probe tolerance above 1 (slow machines): the control plane's probe patches, its health check
 * (and so its startup probes) that many times longer, kubeadm's API calls (1 minute by default, e.g.
 * bootstrapping the admin user right after the API server came up) given as many minutes, and its waits
 * for a healthy kubelet and for a joining kubelet's TLS bootstrap that many times longer (a worker added
 * under TCG timed out in its TLS bootstrap while etcd answered "request timed out").
 */
function slowHostSettings(plan: ClusterPlan, controlPlane: boolean) {
  const tolerance = probeTolerance(plan);
  const healthCheck = `${CONTROL_PLANE_HEALTH_CHECK_MINUTES}m0s`;
  if (tolerance <= 1) return { patches: undefined, healthCheck, timeouts: {}, joinTimeouts: {} };
  const common = {
    kubernetesAPICall: `${tolerance}m0s`,
    kubeletHealthCheck: `${KUBELET_HEALTH_CHECK_MINUTES * tolerance}m0s`,
  };
  const timeouts = controlPlane
    ? { controlPlaneComponentHealthCheck: `${CONTROL_PLANE_HEALTH_CHECK_MINUTES * tolerance}m0s`, ...common }
    : common;
  return {
    patches: controlPlane ? { directory: KUBEADM_PATCHES_DIR } : undefined,
    healthCheck: controlPlane ? `${CONTROL_PLANE_HEALTH_CHECK_MINUTES * tolerance}m0s` : healthCheck,
    timeouts,
    // Only a join has a TLS bootstrap to wait for.
    joinTimeouts: { ...timeouts, tlsBootstrap: `${TLS_BOOTSTRAP_MINUTES * tolerance}m0s` },
  };
}

/**
 * The controller manager's and scheduler's leader election (lease 15 s, renew deadline 10 s, retry 2 s by
 * default), that many times longer on slow machines: under TCG one API call may take longer than the
 * renew deadline, the component then loses its lease and exits, and restarts in the middle of the
 * bootstrap (seen in the e2e run). Stored in the cluster's kubeadm-config, so upgrades keep it.
 */
function leaderElectionArgs(plan: ClusterPlan): (() => { extraArgs: Args }) | undefined {
  const tolerance = probeTolerance(plan);
  if (tolerance <= 1) return undefined;
  return () => ({
    extraArgs: args({
      'leader-elect-lease-duration': `${15 * tolerance}s`,
      'leader-elect-renew-deadline': `${10 * tolerance}s`,
      'leader-elect-retry-period': `${2 * tolerance}s`,
    }),
  });
}

function args(values: Record<string, string>): Args {
  return Object.entries(values).map(([name, value]) => ({ name, value }));
}

/**
 * Control-plane nodes keep kubeadm's NoSchedule taint, except in a cluster without workers, where
 * they must run workloads themselves.
 */
function controlPlaneTaints(plan: ClusterPlan): Taint[] {
  return plan.nodes.some((n) => n.role === 'worker') ? [CONTROL_PLANE_TAINT] : [];
}

function nodeRegistration(plan: ClusterPlan, node: NodePlan): NodeRegistration {
  const registration: NodeRegistration = {
    name: node.name,
    criSocket: plan.runtime.criSocket,
    kubeletExtraArgs: args({ 'node-ip': node.address }),
    imagePullPolicy: 'IfNotPresent',
  };
  // Workers get no taints; leaving the key out is how kubeadm expresses that.
  if (node.role === 'control-plane') registration.taints = controlPlaneTaints(plan);
  return registration;
}

function clusterConfiguration(plan: ClusterPlan): ClusterConfiguration {
  const k8s = plan.kubernetes;
  const leaderElection = leaderElectionArgs(plan);
  return {
    apiVersion: k8s.kubeadmApiVersion,
    kind: 'ClusterConfiguration',
    clusterName: plan.name,
    kubernetesVersion: k8s.version,
    controlPlaneEndpoint: endpointText(k8s.controlPlaneEndpoint),
    imageRepository: k8s.imageRepository,
    networking: { podSubnet: k8s.podSubnet, serviceSubnet: k8s.serviceSubnet, dnsDomain: k8s.dnsDomain },
    apiServer: { certSANs: k8s.apiServerCertSANs },
    // Two objects, not one shared: the YAML serializer would write a shared one as an anchor and alias.
    ...(leaderElection ? { controllerManager: leaderElection(), scheduler: leaderElection() } : {}),
    certificatesDir: KUBEADM_PKI_DIR,
    // kubeadm's own leaf keys stay RSA-2048 (its default, widest compatibility), stated explicitly.
    encryptionAlgorithm: 'RSA-2048',
  };
}

/**
 * The kubelet's graceful node shutdown: on any reboot (Housekeeper's after an upgrade, an operator's) it
 * holds systemd-logind's shutdown for up to 30 s and stops the pods itself, critical ones (static pods,
 * the network plugin) in the last 10 s. Without it systemd stops each container's scope with its 90 s
 * default, and a control plane's kube-apiserver, whose etcd went first, used all of it (seen on every
 * control-plane reboot of the end-to-end run).
 */
const SHUTDOWN_GRACE_PERIOD = '30s';
const SHUTDOWN_GRACE_PERIOD_CRITICAL_PODS = '10s';

function kubeletConfiguration(): KubeletConfiguration {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'systemd',
    failSwapOn: true,
    rotateCertificates: true,
    shutdownGracePeriod: SHUTDOWN_GRACE_PERIOD,
    shutdownGracePeriodCriticalPods: SHUTDOWN_GRACE_PERIOD_CRITICAL_PODS,
  };
}

function initConfiguration(plan: ClusterPlan, node: NodePlan, secrets: KubeadmSecrets): InitConfiguration {
  const slow = slowHostSettings(plan, true);
  return {
    apiVersion: plan.kubernetes.kubeadmApiVersion,
    kind: 'InitConfiguration',
    bootstrapTokens: [
      {
        token: secrets.bootstrapToken,
        description: `nkd deploy-time bootstrap token for cluster ${plan.name}`,
        ttl: BOOTSTRAP_TOKEN_TTL,
        usages: ['signing', 'authentication'],
        groups: ['system:bootstrappers:kubeadm:default-node-token'],
      },
    ],
    nodeRegistration: nodeRegistration(plan, node),
    localAPIEndpoint: { advertiseAddress: node.address, bindPort: API_SERVER_PORT },
    ...(slow.patches ? { patches: slow.patches } : {}),
    timeouts: { controlPlaneComponentHealthCheck: slow.healthCheck, ...slow.timeouts },
  };
}

function joinConfiguration(plan: ClusterPlan, node: NodePlan, secrets: KubeadmSecrets): JoinConfiguration {
  const controlPlane = { localAPIEndpoint: { advertiseAddress: node.address, bindPort: API_SERVER_PORT } };
  const slow = slowHostSettings(plan, node.bootstrap === 'join-control-plane');
  return {
    apiVersion: plan.kubernetes.kubeadmApiVersion,
    kind: 'JoinConfiguration',
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: endpointText(plan.kubernetes.controlPlaneEndpoint),
        token: secrets.bootstrapToken,
        caCertHashes: [secrets.caCertHash],
      },
    },
    nodeRegistration: nodeRegistration(plan, node),
    ...(node.bootstrap === 'join-control-plane' ? { controlPlane } : {}),
    ...(slow.patches ? { patches: slow.patches } : {}),
    timeouts: { discovery: '5m0s', ...slow.joinTimeouts },
  };
}

export function kubeadmDocuments(
  plan: ClusterPlan,
  node: NodePlan,
  secrets: KubeadmSecrets,
): KubeadmDocument[] {
  if (node.bootstrap === 'init') {
    return [initConfiguration(plan, node, secrets), clusterConfiguration(plan), kubeletConfiguration()];
  }
  return [joinConfiguration(plan, node, secrets)];
}

/**
 * The header comment shares the first document: kubeadm splits the file at `---` lines, and a comment
 * alone before the first separator is a document without a kind, which `kubeadm config validate` refuses.
 */
export function serializeKubeadm(documents: KubeadmDocument[]): string {
  const header =
    '# Rendered by nkd. kubeadm reads this file; `kubeadm config validate` checks it on the node.\n';
  // Separators only between documents: a leading "---" would make the header comment a document of
  // its own, which kubeadm (1.37) refuses as having no kind and apiVersion.
  return header + documents.map((doc) => stringify(doc, { lineWidth: 0 })).join('---\n');
}
