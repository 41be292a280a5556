// What the end-to-end run checks on the deployed cluster, through the real kubectl inside the namespace.
import { waitFor } from './steps.js';
import type { E2eWorld } from './world.js';

interface Condition {
  type: string;
  status: string;
  lastTransitionTime?: string;
}
interface NodeList {
  items: {
    metadata: {
      name: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      creationTimestamp?: string;
    };
    spec?: { unschedulable?: boolean };
    status: { conditions: Condition[]; nodeInfo: { kubeletVersion: string } };
  }[];
}
interface PodList {
  items: {
    metadata: { name: string };
    spec: { nodeName?: string };
    status: { phase: string; conditions?: Condition[] };
  }[];
}

const MIN = 60_000;

export async function nodes(world: E2eWorld): Promise<NodeList['items']> {
  return (JSON.parse(await world.kubectl(['get', 'nodes', '-o', 'json'])) as NodeList).items;
}

const ready = (conditions: Condition[] | undefined) =>
  conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Every one of `count` nodes registered and Ready. */
export async function waitNodesReady(
  world: E2eWorld,
  count: number,
  timeoutMs = 30 * MIN,
): Promise<string[]> {
  let names: string[] = [];
  await waitFor(`${count} nodes Ready`, timeoutMs, async () => {
    const list = await nodes(world);
    names = list.map((n) => n.metadata.name);
    const notReady = list.filter((n) => !ready(n.status.conditions)).map((n) => n.metadata.name);
    if (list.length !== count) return `${list.length} nodes registered (${names.join(', ')})`;
    return notReady.length ? `not Ready: ${notReady.join(', ')}` : undefined;
  });
  return names;
}

/** Pods matching `selector` in `namespace`: one Running and ready on each of `nodeNames`. */
export async function waitPodsOnNodes(
  world: E2eWorld,
  namespace: string,
  selector: string,
  nodeNames: string[],
  timeoutMs = 20 * MIN,
): Promise<void> {
  await waitFor(`${selector} in ${namespace} on ${nodeNames.length} nodes`, timeoutMs, async () => {
    const pods = (
      JSON.parse(
        await world.kubectl(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json']),
      ) as PodList
    ).items;
    const running = new Set(
      pods
        .filter((p) => p.status.phase === 'Running' && ready(p.status.conditions))
        .map((p) => p.spec.nodeName),
    );
    const missing = nodeNames.filter((n) => !running.has(n));
    return missing.length
      ? `not running and ready on ${missing.join(', ')} (${pods.map((p) => `${p.metadata.name}:${p.status.phase}`).join(' ')})`
      : undefined;
  });
}

/** A Deployment with all its replicas available. */
export async function waitDeploymentAvailable(
  world: E2eWorld,
  namespace: string,
  name: string,
  timeoutMs = 20 * MIN,
): Promise<void> {
  await waitFor(`deployment ${namespace}/${name} available`, timeoutMs, async () => {
    const d = JSON.parse(await world.kubectl(['get', 'deployment', '-n', namespace, name, '-o', 'json'])) as {
      spec: { replicas: number };
      status: { availableReplicas?: number };
    };
    const available = d.status.availableReplicas ?? 0;
    return available >= d.spec.replicas && d.spec.replicas > 0
      ? undefined
      : `${available}/${d.spec.replicas} available`;
  });
}

/** The API server answers /readyz with "ok". */
export async function apiReady(world: E2eWorld): Promise<void> {
  const body = (await world.kubectl(['get', '--raw', '/readyz'])).trim();
  if (body !== 'ok') throw new Error(`/readyz said ${body.slice(0, 200)}`);
}

/**
 * When each node registered and turned Ready, in seconds after `since` (the deploy's start), and how
 * long after the first control plane each worker was Ready: read from the Node objects themselves.
 */
export async function nodeFigures(world: E2eWorld, since: number): Promise<string[]> {
  const after = (t?: string) => (t ? ((Date.parse(t) - since) / 1000).toFixed(0) : '?');
  const list = await nodes(world);
  const readyAt = (n: NodeList['items'][number]) =>
    n.status.conditions.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime;
  const isControlPlane = (n: NodeList['items'][number]) =>
    n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined;
  const firstPlane = list.filter(isControlPlane).map(readyAt).filter(Boolean).sort()[0];
  return list.map((n) => {
    const ready = readyAt(n);
    const behind =
      !isControlPlane(n) && ready && firstPlane
        ? `, ${((Date.parse(ready) - Date.parse(firstPlane)) / 1000).toFixed(0)} s after the control plane`
        : '';
    return `node ${n.metadata.name}: registered +${after(n.metadata.creationTimestamp)} s, Ready +${after(ready)} s${behind}`;
  });
}

/** The run's libvirtd's domains, networks and pools whose names contain `name` (after destroy: none). */
export async function libvirtObjectsNamed(world: E2eWorld, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const list of [
    ['list', '--all', '--name'],
    ['net-list', '--all', '--name'],
    ['pool-list', '--all', '--name'],
  ]) {
    const r = await world.exec('virsh', 'virsh', ['-q', '-c', world.daemon.uri, ...list]);
    // A listing that failed (or was not run) is no proof that nothing is left.
    if (r.exitCode !== 0)
      throw new Error(`virsh ${list[0]} exited ${r.exitCode}: ${r.out.trim().slice(-300)}`);
    found.push(
      ...r.out
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.includes(name)),
    );
  }
  return found;
}
