// Pure: kubeadm patches that give the control plane's static pods more patient probes on slow machines
// (emulated TCG guests, overloaded hosts), where a busy API server or etcd misses kubeadm's default
// liveness probe and is restarted in the middle of the bootstrap. Rendered only when the plan asks for
// a probe tolerance above 1; kubeadm reads them through `patches.directory` in its Init/Join config.
import { stringify } from 'yaml';
import { kubeadmPatchFileName } from '../lib/kubeadm-patches-dir.js';
import type { ClusterPlan } from '../plan/types.js';

export { KUBEADM_PATCHES_DIR } from '../lib/kubeadm-patches-dir.js';

/** The static pods kubeadm writes on a control plane; each container is named like its pod. */
const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/**
 * kubeadm's own probe settings for the control-plane static pods (v1.35-1.37, the same for all four):
 * liveness 8 failures 10 s apart, each request timing out after 15 s. The startup probe's failure
 * threshold is not patched: kubeadm derives it from timeouts.controlPlaneComponentHealthCheck, which
 * the kubeadm config scales instead (src/render/kubeadm.ts).
 */
const KUBEADM_PROBES = { livenessFailures: 8, timeoutSeconds: 15 };

interface StaticPodPatch {
  spec: {
    containers: {
      name: string;
      livenessProbe: { failureThreshold: number; timeoutSeconds: number };
      startupProbe: { timeoutSeconds: number };
    }[];
  };
}

export interface KubeadmPatchFile {
  /** kubeadm's naming (kubeadmPatchFileName). */
  name: string;
  contents: string;
}

export function probeTolerance(plan: ClusterPlan): number {
  return plan.kubernetes.probeTolerance ?? 1;
}

function staticPodPatch(component: string, tolerance: number): StaticPodPatch {
  const timeoutSeconds = KUBEADM_PROBES.timeoutSeconds * tolerance;
  return {
    spec: {
      containers: [
        {
          name: component,
          livenessProbe: { failureThreshold: KUBEADM_PROBES.livenessFailures * tolerance, timeoutSeconds },
          startupProbe: { timeoutSeconds },
        },
      ],
    },
  };
}

/** No files at tolerance 1: kubeadm's defaults stand and the node gets nothing extra. */
export function kubeadmPatchFiles(plan: ClusterPlan): KubeadmPatchFile[] {
  const tolerance = probeTolerance(plan);
  if (tolerance <= 1) return [];
  return COMPONENTS.map((component) => ({
    name: kubeadmPatchFileName(component),
    contents: `# Rendered by nkd: probeTolerance ${tolerance}.\n${stringify(staticPodPatch(component, tolerance))}`,
  }));
}
