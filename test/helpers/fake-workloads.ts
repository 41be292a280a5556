// The Deployment and DaemonSet controllers, as the fake Kubernetes API simulates them: the status an
// applied workload is served with, all replicas available or one short.
/** Like the API's omitempty: Deployment status counters that are 0 are left out. */
function withoutZeros(status: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== 0));
}

function condition(type: string, status: string, reason: string, message: string): object {
  return { type, status, reason, message };
}

/** What the Deployment controller would report: all replicas available, or one short. */
export function deploymentStatus(obj: Record<string, unknown>, generation: number, ready: boolean): object {
  const spec = (obj.spec ?? {}) as { replicas?: number };
  const name = (obj.metadata as { name?: string } | undefined)?.name ?? 'unnamed';
  const want = spec.replicas ?? 1;
  const available = ready ? want : Math.max(0, want - 1);
  const observed = ready || want > 0 ? generation : generation - 1;
  return {
    ...withoutZeros({
      observedGeneration: observed,
      replicas: want,
      updatedReplicas: want,
      readyReplicas: available,
      availableReplicas: available,
      unavailableReplicas: want - available,
    }),
    conditions: [
      ready
        ? condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
        : condition(
            'Available',
            'False',
            'MinimumReplicasUnavailable',
            'Deployment does not have minimum availability.',
          ),
      ready
        ? condition(
            'Progressing',
            'True',
            'NewReplicaSetAvailable',
            `ReplicaSet "${name}-5d4f8c" has successfully progressed.`,
          )
        : condition(
            'Progressing',
            'True',
            'ReplicaSetUpdated',
            `ReplicaSet "${name}-5d4f8c" is progressing.`,
          ),
    ],
  };
}

/** What the DaemonSet controller would report for `desired` nodes: all available, or one short. */
export function daemonSetStatus(desired: number, generation: number, ready: boolean): object {
  const available = ready ? desired : Math.max(0, desired - 1);
  return {
    observedGeneration: ready || desired > 0 ? generation : generation - 1,
    currentNumberScheduled: desired,
    desiredNumberScheduled: desired,
    numberMisscheduled: 0,
    numberReady: available,
    numberAvailable: available,
    ...(desired > available ? { numberUnavailable: desired - available } : {}),
    updatedNumberScheduled: desired,
  };
}
