// Where nkd puts its kubeadm patches on a node, and how kubeadm wants them named. Shared by the renderer
// (which writes them through Ignition) and the Housekeeper agent (which hands them to `kubeadm upgrade`),
// without the agent loading the renderer and its YAML library.

/** Outside /etc/kubernetes so that `kubeadm reset` between attempts leaves them in place. */
export const KUBEADM_PATCHES_DIR = '/etc/nkd/kubeadm-patches';

/** kubeadm's naming: the target (a static pod's name), then `+strategic` for a strategic merge patch. */
export function kubeadmPatchFileName(component: string): string {
  return `${component}+strategic.yaml`;
}
