// Calico with the Kubernetes API as its datastore and no operator: CRDs, the calico-config ConfigMap,
// RBAC, the calico-node DaemonSet (BGP with IP-in-IP between nodes) and calico-kube-controllers. This is
// the shape of Calico's own "calico.yaml" install for clusters of up to 50 nodes (no Typha).
import type { KubeObject } from '../../cluster/types.js';
import { UPSTREAM_IMAGES, type ImageResolver } from '../../config/images.js';
import { calicoCrds } from './calico-crds.js';
import { CALICO_KUBE_CONTROLLERS, CALICO_NAMESPACE, CALICO_NODE, calicoRbac } from './calico-rbac.js';
import { configMapEnv, fieldEnv, hostPathVolume, LINUX_ONLY, mount, TOLERATE_EVERYTHING } from './k8s.js';
import {
  CALICO_CNI_IMAGE,
  CALICO_KUBE_CONTROLLERS_IMAGE,
  CALICO_NODE_IMAGE,
  type CalicoRelease,
} from './versions.js';

const CONFIG = 'calico-config';
// install-cni and calico-node read the API server address from here when it exists: the hook for
// clusters whose in-cluster service address is not reachable before kube-proxy runs.
const SERVICES_ENDPOINT = { configMapRef: { name: 'kubernetes-services-endpoint', optional: true } };

/**
 * The CNI conflist install-cni writes to /etc/cni/net.d. Not valid JSON as stored: install-cni replaces
 * the placeholders, and __CNI_MTU__ stands for a number, so it must appear without quotes.
 */
function cniNetworkConfig(): string {
  const conflist = {
    name: 'k8s-pod-network',
    cniVersion: '0.3.1',
    plugins: [
      {
        type: 'calico',
        log_level: 'info',
        log_file_path: '/var/log/calico/cni/cni.log',
        datastore_type: 'kubernetes',
        nodename: '__KUBERNETES_NODE_NAME__',
        mtu: '__CNI_MTU__',
        ipam: { type: 'calico-ipam' },
        policy: { type: 'k8s' },
        kubernetes: { kubeconfig: '__KUBECONFIG_FILEPATH__' },
      },
      { type: 'portmap', snat: true, capabilities: { portMappings: true } },
      { type: 'bandwidth', capabilities: { bandwidth: true } },
    ],
  };
  return JSON.stringify(conflist, null, 2).replace('"__CNI_MTU__"', '__CNI_MTU__');
}

function calicoConfig(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: CONFIG, namespace: CALICO_NAMESPACE },
    data: {
      typha_service_name: 'none',
      calico_backend: 'bird',
      // 0: calico-node detects the MTU from the host's interfaces and subtracts the encapsulation.
      veth_mtu: '0',
      cni_network_config: cniNetworkConfig(),
    },
  };
}

const PRIVILEGED = { privileged: true };

function calicoNode(release: CalicoRelease, podSubnet: string, image: ImageResolver): KubeObject {
  const cniImage = image(`${CALICO_CNI_IMAGE}:${release.version}`);
  const nodeImage = image(`${CALICO_NODE_IMAGE}:${release.version}`);
  const nodeName = fieldEnv('KUBERNETES_NODE_NAME', 'spec.nodeName');
  const backend = configMapEnv('CALICO_NETWORKING_BACKEND', CONFIG, 'calico_backend');
  const mtu = (name: string) => configMapEnv(name, CONFIG, 'veth_mtu');
  const labels = { 'k8s-app': CALICO_NODE };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: CALICO_NODE, namespace: CALICO_NAMESPACE, labels: { ...labels } },
    spec: {
      selector: { matchLabels: { ...labels } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          nodeSelector: { ...LINUX_ONLY },
          hostNetwork: true,
          // Every node needs the CNI to turn Ready, tainted or not (control plane, not-ready, custom).
          tolerations: [{ ...TOLERATE_EVERYTHING }],
          serviceAccountName: CALICO_NODE,
          // Lets a rolling update replace the pod at once; calico-node's preStop hook does the cleanup.
          terminationGracePeriodSeconds: 0,
          priorityClassName: 'system-node-critical',
          initContainers: [
            {
              // Converts host-local IPAM state left by an earlier CNI to Calico IPAM; a no-op otherwise.
              name: 'upgrade-ipam',
              image: cniImage,
              command: ['/opt/cni/bin/calico-ipam', '-upgrade'],
              envFrom: [structuredClone(SERVICES_ENDPOINT)],
              env: [nodeName, backend],
              volumeMounts: [
                mount('host-local-net-dir', '/var/lib/cni/networks'),
                mount('cni-bin-dir', '/host/opt/cni/bin'),
              ],
              securityContext: { ...PRIVILEGED },
            },
            {
              // Copies the calico and calico-ipam binaries and writes the conflist and its kubeconfig.
              name: 'install-cni',
              image: cniImage,
              command: ['/opt/cni/bin/install'],
              envFrom: [structuredClone(SERVICES_ENDPOINT)],
              env: [
                { name: 'CNI_CONF_NAME', value: '10-calico.conflist' },
                configMapEnv('CNI_NETWORK_CONFIG', CONFIG, 'cni_network_config'),
                fieldEnv('KUBERNETES_NODE_NAME', 'spec.nodeName'),
                mtu('CNI_MTU'),
                // Exit once installed: this is an init container, not a sidecar.
                { name: 'SLEEP', value: 'false' },
              ],
              volumeMounts: [
                mount('cni-bin-dir', '/host/opt/cni/bin'),
                mount('cni-net-dir', '/host/etc/cni/net.d'),
              ],
              securityContext: { ...PRIVILEGED },
            },
            {
              // Mounts the BPF filesystem on the host, so BPF state survives calico-node restarts.
              name: 'mount-bpffs',
              image: nodeImage,
              command: ['calico-node', '-init', '-best-effort'],
              volumeMounts: [
                mount('sys-fs', '/sys/fs', { mountPropagation: 'Bidirectional' }),
                mount('var-run-calico', '/var/run/calico', { mountPropagation: 'Bidirectional' }),
                mount('nodeproc', '/nodeproc', { readOnly: true }),
              ],
              securityContext: { ...PRIVILEGED },
            },
          ],
          containers: [
            {
              name: CALICO_NODE,
              image: nodeImage,
              envFrom: [structuredClone(SERVICES_ENDPOINT)],
              env: [
                { name: 'DATASTORE_TYPE', value: 'kubernetes' },
                { name: 'WAIT_FOR_DATASTORE', value: 'true' },
                fieldEnv('NODENAME', 'spec.nodeName'),
                configMapEnv('CALICO_NETWORKING_BACKEND', CONFIG, 'calico_backend'),
                { name: 'CLUSTER_TYPE', value: 'k8s,bgp' },
                { name: 'IP', value: 'autodetect' },
                { name: 'CALICO_IPV4POOL_IPIP', value: 'Always' },
                { name: 'CALICO_IPV4POOL_VXLAN', value: 'Never' },
                { name: 'CALICO_IPV6POOL_VXLAN', value: 'Never' },
                mtu('FELIX_IPINIPMTU'),
                mtu('FELIX_VXLANMTU'),
                mtu('FELIX_WIREGUARDMTU'),
                // The default pool, created on first start: must equal kubeadm's podSubnet.
                { name: 'CALICO_IPV4POOL_CIDR', value: podSubnet },
                { name: 'CALICO_DISABLE_FILE_LOGGING', value: 'true' },
                { name: 'FELIX_DEFAULTENDPOINTTOHOSTACTION', value: 'ACCEPT' },
                { name: 'FELIX_IPV6SUPPORT', value: 'false' },
                { name: 'FELIX_HEALTHENABLED', value: 'true' },
              ],
              securityContext: { ...PRIVILEGED },
              resources: { requests: { cpu: '250m' } },
              lifecycle: { preStop: { exec: { command: ['/bin/calico-node', '-shutdown'] } } },
              livenessProbe: {
                exec: { command: ['/bin/calico-node', '-felix-live', '-bird-live'] },
                periodSeconds: 10,
                initialDelaySeconds: 10,
                failureThreshold: 6,
                timeoutSeconds: 10,
              },
              readinessProbe: {
                exec: { command: ['/bin/calico-node', '-felix-ready', '-bird-ready'] },
                periodSeconds: 10,
                timeoutSeconds: 10,
              },
              volumeMounts: [
                mount('cni-net-dir', '/host/etc/cni/net.d', { readOnly: false }),
                mount('lib-modules', '/lib/modules', { readOnly: true }),
                mount('xtables-lock', '/run/xtables.lock', { readOnly: false }),
                mount('var-run-calico', '/var/run/calico', { readOnly: false }),
                mount('var-lib-calico', '/var/lib/calico', { readOnly: false }),
                mount('policysync', '/var/run/nodeagent'),
                mount('bpffs', '/sys/fs/bpf'),
                mount('cni-log-dir', '/var/log/calico/cni', { readOnly: true }),
              ],
            },
          ],
          volumes: [
            hostPathVolume('lib-modules', '/lib/modules'),
            hostPathVolume('var-run-calico', '/var/run/calico', 'DirectoryOrCreate'),
            hostPathVolume('var-lib-calico', '/var/lib/calico', 'DirectoryOrCreate'),
            // Shared with kube-proxy so the two never rewrite iptables at the same time.
            hostPathVolume('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
            hostPathVolume('sys-fs', '/sys/fs/', 'DirectoryOrCreate'),
            hostPathVolume('bpffs', '/sys/fs/bpf', 'Directory'),
            hostPathVolume('nodeproc', '/proc'),
            hostPathVolume('cni-bin-dir', '/opt/cni/bin', 'DirectoryOrCreate'),
            hostPathVolume('cni-net-dir', '/etc/cni/net.d'),
            hostPathVolume('cni-log-dir', '/var/log/calico/cni'),
            hostPathVolume('host-local-net-dir', '/var/lib/cni/networks'),
            hostPathVolume('policysync', '/var/run/nodeagent', 'DirectoryOrCreate'),
          ],
        },
      },
    },
  };
}

function kubeControllers(release: CalicoRelease, image: ImageResolver): KubeObject {
  const labels = { 'k8s-app': CALICO_KUBE_CONTROLLERS };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: CALICO_KUBE_CONTROLLERS, namespace: CALICO_NAMESPACE, labels: { ...labels } },
    spec: {
      // One active instance only; Recreate keeps an update from briefly running two.
      replicas: 1,
      selector: { matchLabels: { ...labels } },
      strategy: { type: 'Recreate' },
      template: {
        metadata: { name: CALICO_KUBE_CONTROLLERS, namespace: CALICO_NAMESPACE, labels: { ...labels } },
        spec: {
          nodeSelector: { ...LINUX_ONLY },
          // May run on a control-plane node: on a cluster without workers it has nowhere else to go.
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: 'node-role.kubernetes.io/master', effect: 'NoSchedule' },
            { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
          ],
          serviceAccountName: CALICO_KUBE_CONTROLLERS,
          securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
          priorityClassName: 'system-cluster-critical',
          containers: [
            {
              name: CALICO_KUBE_CONTROLLERS,
              image: image(`${CALICO_KUBE_CONTROLLERS_IMAGE}:${release.version}`),
              env: [
                { name: 'ENABLED_CONTROLLERS', value: release.kubeControllers },
                { name: 'DATASTORE_TYPE', value: 'kubernetes' },
              ],
              livenessProbe: {
                exec: { command: ['/usr/bin/check-status', '-l'] },
                periodSeconds: 10,
                initialDelaySeconds: 10,
                failureThreshold: 6,
                timeoutSeconds: 10,
              },
              readinessProbe: { exec: { command: ['/usr/bin/check-status', '-r'] }, periodSeconds: 10 },
              securityContext: { runAsNonRoot: true },
            },
          ],
        },
      },
    },
  };
}

/** CRDs first (sorted), then configuration, RBAC, and the workloads that use all of it. */
export function calicoManifests(
  release: CalicoRelease,
  podSubnet: string,
  image: ImageResolver = UPSTREAM_IMAGES,
): KubeObject[] {
  return [
    ...calicoCrds({ tiers: release.tiers }),
    calicoConfig(),
    ...calicoRbac(release),
    calicoNode(release, podSubnet, image),
    kubeControllers(release, image),
  ];
}
