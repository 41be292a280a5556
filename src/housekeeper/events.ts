// Events the operator leaves on Updates and Nodes, so `kubectl describe` tells what Housekeeper did.
// Best effort: an Event that cannot be written is logged, never a reason to stop a rollout.
import type { EventObject, HousekeeperKube, UpdateObject } from './types.js';

const COMPONENT = 'housekeeper-operator';

export interface Recorder {
  update(update: UpdateObject, type: EventObject['type'], reason: string, message: string): Promise<void>;
  node(name: string, reason: string, message: string): Promise<void>;
}

export function eventRecorder(kube: HousekeeperKube, now: () => Date, log: (line: string) => void): Recorder {
  async function emit(
    namespace: string,
    involved: EventObject['involvedObject'],
    type: EventObject['type'],
    reason: string,
    message: string,
  ) {
    const at = now().toISOString();
    try {
      await kube.createEvent(namespace, {
        metadata: { generateName: `${involved.name}.` },
        involvedObject: involved,
        reason,
        message,
        type,
        source: { component: COMPONENT },
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
      });
    } catch (err) {
      log(
        `could not record event ${reason} on ${involved.kind} ${involved.name}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return {
    update(update, type, reason, message) {
      const { name, namespace, uid } = update.metadata;
      return emit(
        namespace,
        { apiVersion: update.apiVersion, kind: update.kind, name, namespace, ...(uid ? { uid } : {}) },
        type,
        reason,
        message,
      );
    },
    // Nodes are cluster-scoped: their events live in "default", as the kubelet's do.
    node(name, reason, message) {
      return emit('default', { apiVersion: 'v1', kind: 'Node', name }, 'Normal', reason, message);
    },
  };
}
