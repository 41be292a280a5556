/**
 * The deploy's two cluster waits, built on waitFor: the API server answering /readyz, then every planned
 * node registered and Ready. Both report progress, time out with a WaitTimeoutError (exit code 7) and
 * explain the timeout in its `details`. docs/waits.md describes them for users.
 */
import type { ClusterClient, NodeSummary, ReadyzResult } from './client.js';
import {
  formatClock,
  oneLine,
  waitFor,
  type WaitEvent,
  type WaitOptions,
  type WaitProgress,
} from './wait.js';

/** openshift-install's budget for the API; generous for VMs that boot, fetch Ignition and run kubeadm. */
export const DEFAULT_API_TIMEOUT_MS = 20 * 60_000;
/** Workers join after the first master is up, and need the CNI before they turn Ready. */
export const DEFAULT_NODES_TIMEOUT_MS = 30 * 60_000;

/** Tuning shared by the cluster waits; everything but the client is optional. */
export interface ClusterWaitOptions<E = WaitEvent> extends Pick<
  WaitOptions<unknown>,
  'now' | 'sleep' | 'initialDelayMs' | 'maxDelayMs' | 'signal'
> {
  timeoutMs?: number;
  onProgress?: WaitProgress<E>;
  /**
   * More diagnostics for a timeout, appended after the wait's own: which nodes fetched their Ignition,
   * where the console logs are, ... Errors here are reported, never thrown.
   */
  diagnose?: () => readonly string[] | Promise<readonly string[]>;
}

async function extraDiagnostics(diagnose: ClusterWaitOptions['diagnose']): Promise<string[]> {
  if (!diagnose) return [];
  try {
    return [...(await diagnose())];
  } catch (err) {
    return [`(gathering further diagnostics failed: ${oneLine(err)})`];
  }
}

/** Names of the failing checks in a /readyz body ("[-]etcd failed: reason withheld" → "etcd"). */
export function failingReadyzChecks(body: string): string[] {
  return body
    .split('\n')
    .map((line) => /^\[-\]\s*(\S+)/.exec(line.trim())?.[1])
    .filter((name): name is string => name !== undefined);
}

function describeReadyz(res: ReadyzResult): string {
  const failing = failingReadyzChecks(res.body);
  if (failing.length > 0) return `/readyz answered HTTP ${res.status}; failing checks: ${failing.join(', ')}`;
  const first = oneLine(res.body);
  return `/readyz answered HTTP ${res.status}${first && first !== '(no detail)' ? `: ${first.slice(0, 200)}` : ''}`;
}

/** Waits until GET /readyz answers 200, verifying the server against the cluster CA. */
export async function waitForApiServer(
  client: Pick<ClusterClient, 'readyz' | 'server'>,
  options: ClusterWaitOptions = {},
): Promise<void> {
  const now = options.now ?? Date.now;
  let lastAnswer: ReadyzResult | undefined;
  let lastError: { message: string; at: number } | undefined;
  await waitFor<void>({
    what: `the API server at ${client.server} to be ready`,
    timeoutMs: options.timeoutMs ?? DEFAULT_API_TIMEOUT_MS,
    ...pickTuning(options),
    onProgress: options.onProgress,
    probe: async () => {
      let res: ReadyzResult;
      try {
        res = await client.readyz();
      } catch (err) {
        lastError = { message: oneLine(err), at: now() };
        throw err;
      }
      lastAnswer = res;
      return res.ok ? { done: true, value: undefined } : { done: false, status: describeReadyz(res) };
    },
    diagnose: async () => {
      const lines: string[] = [];
      if (lastAnswer) {
        lines.push(`last answer from ${client.server}: ${describeReadyz(lastAnswer)}`);
      } else {
        lines.push(`${client.server} never answered /readyz`);
      }
      if (lastError)
        lines.push(
          `last API error (${formatClock(new Date(lastError.at), { seconds: true })}): ${lastError.message}`,
        );
      return [...lines, ...(await extraDiagnostics(options.diagnose))];
    },
  });
}

/** Progress of the node wait: the generic events, plus one event per node turning Ready. */
export type NodeWaitEvent =
  | WaitEvent
  | { type: 'node-joined'; node: NodeSummary; message: string }
  | { type: 'node-ready'; node: NodeSummary; message: string };

export interface NodeWaitOptions extends ClusterWaitOptions<NodeWaitEvent> {
  /**
   * false: registered is enough. Without a network plugin (`network.plugin: none`) nodes stay NotReady
   * until the user installs one, so the deploy only waits for them to join.
   */
  requireReady?: boolean;
}

function describeNode(node: NodeSummary): string {
  const roles = node.roles.length > 0 ? node.roles.join(',') : 'no role';
  return `${roles}, ${node.kubeletVersion || 'unknown version'}${node.osImage ? `, ${node.osImage}` : ''}`;
}

function notReadyDetail(node: NodeSummary): string {
  const why = [node.readyReason, node.readyMessage].filter(Boolean).join(': ');
  return `${node.name} (Ready=${node.readyStatus}${why ? `; ${why}` : ''})`;
}

/**
 * Waits until every expected node exists and its Ready condition is True. Reports each node turning
 * Ready once. Resolves with the expected nodes' summaries, in the order given.
 */
export async function waitForNodesReady(
  client: Pick<ClusterClient, 'listNodes'>,
  expectedNames: readonly string[],
  options: NodeWaitOptions = {},
): Promise<NodeSummary[]> {
  const now = options.now ?? Date.now;
  const requireReady = options.requireReady ?? true;
  const joined = new Set<string>();
  const expected = [...new Set(expectedNames)];
  const emit = options.onProgress ?? (() => {});
  const reported = new Set<string>();
  let lastNodes: NodeSummary[] | undefined;
  let lastError: { message: string; at: number } | undefined;

  const classify = (nodes: NodeSummary[]) => {
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const expectedSet = new Set(expected);
    return {
      byName,
      ready: expected.filter((name) => byName.get(name)?.ready === true),
      missing: expected.filter((name) => !byName.has(name)),
      notReady: expected
        .map((name) => byName.get(name))
        .filter((n): n is NodeSummary => n !== undefined && !n.ready),
      unexpected: nodes.filter((n) => !expectedSet.has(n.name)).map((n) => n.name),
    };
  };

  const count = expected.length;
  return waitFor<NodeSummary[]>({
    what: `${count} node${count === 1 ? '' : 's'} to be ${requireReady ? 'Ready' : 'registered'}`,
    timeoutMs: options.timeoutMs ?? DEFAULT_NODES_TIMEOUT_MS,
    ...pickTuning(options),
    onProgress: emit,
    probe: async () => {
      let nodes: NodeSummary[];
      try {
        nodes = await client.listNodes();
      } catch (err) {
        lastError = { message: oneLine(err), at: now() };
        throw err;
      }
      lastNodes = nodes;
      const { byName, ready, missing, notReady } = classify(nodes);
      for (const name of expected) {
        const node = byName.get(name);
        if (!node || joined.has(name)) continue;
        joined.add(name);
        const message = `node ${name} joined the cluster (${describeNode(node)})`;
        emit(message, { type: 'node-joined', node, message });
      }
      for (const name of ready) {
        if (reported.has(name)) continue;
        reported.add(name);
        const node = byName.get(name)!;
        const message = `node ${name} is Ready (${describeNode(node)})`;
        emit(message, { type: 'node-ready', node, message });
      }
      if (missing.length === 0 && (notReady.length === 0 || !requireReady)) {
        return { done: true, value: expected.map((name) => byName.get(name)!) };
      }
      const parts = [`${ready.length}/${count} Ready`];
      if (missing.length > 0) parts.push(`not registered: ${missing.join(', ')}`);
      if (notReady.length > 0) parts.push(`NotReady: ${notReady.map((n) => n.name).join(', ')}`);
      return { done: false, status: parts.join('; ') };
    },
    diagnose: async () => {
      const lines: string[] = [];
      if (lastNodes) {
        const { ready, missing, notReady, unexpected } = classify(lastNodes);
        if (ready.length > 0) lines.push(`Ready: ${ready.join(', ')}`);
        if (missing.length > 0) lines.push(`never registered: ${missing.join(', ')}`);
        for (const node of notReady) lines.push(`registered but NotReady: ${notReadyDetail(node)}`);
        if (unexpected.length > 0) lines.push(`registered but not in the plan: ${unexpected.join(', ')}`);
      } else {
        lines.push(
          `the node list could never be read; none of ${expected.join(', ')} is known to have registered`,
        );
      }
      if (lastError)
        lines.push(
          `last API error (${formatClock(new Date(lastError.at), { seconds: true })}): ${lastError.message}`,
        );
      return [...lines, ...(await extraDiagnostics(options.diagnose))];
    },
  });
}

function pickTuning(options: ClusterWaitOptions<never>): Partial<WaitOptions<unknown>> {
  const out: Partial<WaitOptions<unknown>> = {};
  if (options.now) out.now = options.now;
  if (options.sleep) out.sleep = options.sleep;
  if (options.initialDelayMs !== undefined) out.initialDelayMs = options.initialDelayMs;
  if (options.maxDelayMs !== undefined) out.maxDelayMs = options.maxDelayMs;
  if (options.signal) out.signal = options.signal;
  return out;
}
