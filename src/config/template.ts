// The commented starter config `nkd template` prints. It must always validate (a test checks both
// platforms), so every value here is a working default rather than a placeholder that fails.
import { providerFor, type PlatformName } from '../../providers/registry.js';
import { DEFAULT_KUBE_VERSION, supportedRangeText } from './versions.js';

/** Node size lines; a platform that sizes nodes itself (a flavor) refuses them, so they are left out. */
function sizeLines(platform: PlatformName): string {
  const provider = providerFor(platform);
  if (provider.nodeSizing === 'platform')
    return `    # cpus, memoryMiB, diskGiB: not on ${platform}, ${provider.sizedBy?.cpus ?? 'the platform sizes the nodes'}\n`;
  return '    cpus: 4\n    memoryMiB: 8192\n    diskGiB: 50\n';
}

export function clusterTemplate(platform: PlatformName, name = 'demo'): string {
  const sizes = sizeLines(platform);
  return `# nkd cluster config. Keep it in git: it holds no secrets (nkd keeps those in its state directory).
# Check it with: nkd validate -f <file>; render everything offline with: nkd deploy -f <file> --dry-run
apiVersion: nkd.nestos.io/v1alpha1
kind: Cluster
metadata:
  name: ${name}                     # DNS-1123 label, at most 40 characters; names the cluster everywhere
spec:
  kubernetes:
    version: ${DEFAULT_KUBE_VERSION}             # ${supportedRangeText()}: the minors upstream maintains
    controlPlaneEndpoint: ""     # host:port; default: the first control-plane node's address, port 6443
    imageRepository: registry.k8s.io
    podSubnet: 10.244.0.0/16
    serviceSubnet: 10.96.0.0/16
  runtime: containerd            # containerd | crio | isulad | docker (docker needs cri-dockerd)
  network:
    plugin: calico               # calico | flannel | none (then bring your own CNI in hooks.postDeploy)
    version: ""                  # bundled manifest version; default: the newest bundled one
    manifest: ""                 # optional file or https:// URL applied instead of the bundled manifest
  controlPlane:
    count: 3                     # 1 or more; use an odd number for etcd quorum
${sizes}    # hosts:                     # optional: fix hostname and/or ip of the first N nodes
    #   - hostname: k8s-master01
    #     ip: 192.168.132.11
  workers:
    count: 2                     # 0 or more
${sizes}  access:
    user: nest                   # the nodes' admin user
    sshAuthorizedKeys: []        # public keys for the admin user, e.g. - ssh-ed25519 AAAA... you@host
  os:
    releaseImage: ""             # optional NestOS ostree container image carrying kubeadm/kubelet/kubectl
  housekeeper:
    enabled: true                # install the in-cluster upgrade operator
    image: ""                    # operator/agent image; default: nkd's own image of this version
  hooks:
    preDeploy: []                # local executables run before provisioning, e.g. - scripts/check-dns.sh
    postDeploy: []               # manifest files/directories applied last, e.g. - manifests/
${providerFor(platform).templateSection}`;
}
