// Flannel with the Kubernetes subnet manager: flanneld reads each node's podCIDR (allocated by the
// controller manager from kubeadm's podSubnet) and builds a VXLAN overlay between the nodes.
// Layout follows flannel's own kube-flannel.yml of the same release: namespace kube-flannel, one
// DaemonSet whose init containers drop the CNI plugin binary and the conflist onto the host.
import type { KubeObject } from '../../cluster/types.js';
import {
  clusterRole,
  clusterRoleBinding,
  fieldEnv,
  hostPathVolume,
  jsonText,
  mount,
  serviceAccount,
  TOLERATE_EVERYTHING,
} from './k8s.js';
import { UPSTREAM_IMAGES, type ImageResolver } from '../../config/images.js';
import { FLANNEL_CNI_PLUGIN_IMAGE, FLANNEL_IMAGE, type FlannelRelease } from './versions.js';
import { apiServerEnv, type ApiServerAddress } from '../api-server-env.js';

const NAMESPACE = 'kube-flannel';
const NAME = 'flannel';
// Copied into each object (never shared), so a caller editing one object cannot change another.
const LABELS = { tier: 'node', app: 'flannel', 'k8s-app': 'flannel' };

export function flannelManifests(
  release: FlannelRelease,
  podSubnet: string,
  image: ImageResolver = UPSTREAM_IMAGES,
  apiServer?: ApiServerAddress,
): KubeObject[] {
  const flannelImage = image(`${FLANNEL_IMAGE}:${release.version}`);
  const pluginImage = image(`${FLANNEL_CNI_PLUGIN_IMAGE}:${release.cniPluginTag}`);
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: NAMESPACE,
        // flanneld needs host networking and NET_ADMIN; under a "restricted" or "baseline" default
        // Pod Security level the DaemonSet's pods would be refused.
        labels: { 'k8s-app': 'flannel', 'pod-security.kubernetes.io/enforce': 'privileged' },
      },
    },
    serviceAccount(NAME, NAMESPACE),
    clusterRole(NAME, [
      // The subnet manager reads its own pod (for its node name) and every node's podCIDR, and
      // records its public address and VTEP MAC in node annotations.
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
    ]),
    clusterRoleBinding(NAME, NAMESPACE),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-flannel-cfg', namespace: NAMESPACE, labels: { ...LABELS } },
      data: {
        // cniVersion 0.3.1 is understood by every containerd, CRI-O and CNI plugins release NestOS ships.
        'cni-conf.json': jsonText({
          name: 'cbr0',
          cniVersion: '0.3.1',
          plugins: [
            { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
            { type: 'portmap', capabilities: { portMappings: true } },
          ],
        }),
        // Network must equal kubeadm's podSubnet: flanneld refuses node podCIDRs outside it.
        'net-conf.json': jsonText({
          Network: podSubnet,
          EnableNFTables: false,
          Backend: { Type: 'vxlan' },
        }),
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'kube-flannel-ds', namespace: NAMESPACE, labels: { ...LABELS } },
      spec: {
        selector: { matchLabels: { app: 'flannel', 'k8s-app': 'flannel' } },
        template: {
          metadata: { labels: { ...LABELS } },
          spec: {
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchExpressions: [{ key: 'kubernetes.io/os', operator: 'In', values: ['linux'] }] },
                  ],
                },
              },
            },
            hostNetwork: true,
            priorityClassName: 'system-node-critical',
            // Every node needs the CNI to turn Ready, tainted or not (control plane, not-ready, custom).
            tolerations: [{ ...TOLERATE_EVERYTHING }],
            serviceAccountName: NAME,
            initContainers: [
              {
                name: 'install-cni-plugin',
                image: pluginImage,
                command: ['cp'],
                args: ['-f', '/flannel', '/opt/cni/bin/flannel'],
                volumeMounts: [mount('cni-plugin', '/opt/cni/bin')],
              },
              {
                name: 'install-cni',
                image: flannelImage,
                command: ['cp'],
                args: ['-f', '/etc/kube-flannel/cni-conf.json', '/etc/cni/net.d/10-flannel.conflist'],
                volumeMounts: [mount('cni', '/etc/cni/net.d'), mount('flannel-cfg', '/etc/kube-flannel/')],
              },
            ],
            containers: [
              {
                name: 'kube-flannel',
                image: flannelImage,
                command: ['/opt/bin/flanneld'],
                args: ['--ip-masq', '--kube-subnet-mgr'],
                resources: { requests: { cpu: '100m', memory: '50Mi' } },
                // Not privileged: creating the VXLAN device and routes needs NET_ADMIN, raw sockets
                // for the masquerade rules need NET_RAW, nothing more.
                securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
                env: [
                  fieldEnv('POD_NAME', 'metadata.name'),
                  fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                  { name: 'EVENT_QUEUE_DEPTH', value: '5000' },
                  // The control-plane endpoint, not the kubernetes Service (see api-server-env.ts).
                  ...apiServerEnv(apiServer),
                ],
                volumeMounts: [
                  mount('run', '/run/flannel'),
                  mount('flannel-cfg', '/etc/kube-flannel/'),
                  mount('xtables-lock', '/run/xtables.lock'),
                ],
              },
            ],
            volumes: [
              hostPathVolume('run', '/run/flannel'),
              hostPathVolume('cni-plugin', '/opt/cni/bin'),
              hostPathVolume('cni', '/etc/cni/net.d'),
              { name: 'flannel-cfg', configMap: { name: 'kube-flannel-cfg' } },
              // Shared with kube-proxy so the two never rewrite iptables at the same time.
              hostPathVolume('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
            ],
          },
        },
      },
    },
  ];
}
