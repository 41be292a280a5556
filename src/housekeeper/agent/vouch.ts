// Whether a target on the agent's Node is one the operator could have written: the Update it names must
// exist in Housekeeper's namespace and ask for exactly what the target says. Node annotations can be
// written by more identities than Update objects can (on a cluster without the admission policy that
// confines agents, any agent's token can annotate any Node), so the Update, which only administrators
// may write, is what the agent obeys; the annotation only says which one and which node goes next.
import type { HousekeeperKube, NodeObject, NodeTarget, UpdateObject } from '../types.js';
import { isControlPlaneNode } from './host.js';
const DEFAULT_DRAIN_TIMEOUT_SECONDS = 300;

/** Vouched: obey it. Stale: an older generation asked for something else; wait for the operator. */
export type Verdict =
  { kind: 'vouched' } | { kind: 'stale'; reason: string } | { kind: 'forged'; reason: string };

/** `<namespace>/<name>@<generation>` split up; undefined when the key has another shape. */
export function parseKey(key: string): { namespace: string; name: string; generation: number } | undefined {
  const m = /^([^/@]+)\/([^/@]+)@(\d+)$/.exec(key);
  return m ? { namespace: m[1]!, name: m[2]!, generation: Number(m[3]) } : undefined;
}

/** The fields of the target that come from the Update's spec, and what they should be. */
function mismatches(update: UpdateObject, target: NodeTarget): string[] {
  const spec = update.spec;
  const wanted: [string, unknown, unknown][] = [
    ['osImageURL', spec.osImageURL || undefined, target.osImageURL],
    ['kubeVersion', spec.kubeVersion || undefined, target.kubeVersion],
    ['evictPodForce', spec.evictPodForce ?? false, target.evictPodForce],
    ['deleteEmptyDirData', spec.deleteEmptyDirData ?? false, target.deleteEmptyDirData ?? false],
    [
      'drainTimeoutSeconds',
      spec.drainTimeoutSeconds ?? DEFAULT_DRAIN_TIMEOUT_SECONDS,
      target.drainTimeoutSeconds,
    ],
  ];
  return wanted
    .filter(([, want, got]) => want !== got)
    .map(([field, want, got]) => `${field} ${JSON.stringify(got)} (the Update says ${JSON.stringify(want)})`);
}

export async function vouchFor(
  kube: HousekeeperKube,
  namespace: string,
  node: NodeObject,
  target: NodeTarget,
): Promise<Verdict> {
  const key = parseKey(target.key);
  if (!key) return { kind: 'forged', reason: `its key ${target.key} names no Update` };
  const name = `Update ${key.namespace}/${key.name}`;
  if (key.namespace !== namespace) {
    return { kind: 'forged', reason: `it names ${name}, outside Housekeeper's namespace ${namespace}` };
  }
  const update = await kube.getUpdate(key.namespace, key.name);
  if (!update) return { kind: 'forged', reason: `${name} does not exist` };
  const generation = update.metadata.generation ?? 0;
  if (key.generation > generation) {
    return {
      kind: 'forged',
      reason: `it names generation ${key.generation} of ${name}, which is at ${generation}`,
    };
  }
  if (target.firstControlPlane && !isControlPlaneNode(node)) {
    return { kind: 'forged', reason: 'it asks a node that is no control plane to run kubeadm upgrade apply' };
  }
  const wrong = mismatches(update, target);
  if (wrong.length === 0) return { kind: 'vouched' };
  const reason = `it asks for ${wrong.join(', ')}`;
  // An older generation may legitimately have asked for something else (the spec was edited since).
  return key.generation < generation ? { kind: 'stale', reason } : { kind: 'forged', reason };
}
