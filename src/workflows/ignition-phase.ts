// Pointer delivery's Ignition service across the provision and ignition phases: it starts before the
// machines boot, records each node's fetch in the deploy state (so a re-run waits only for the nodes
// that never fetched), and stops once every node has its config.
import { providerFor } from '../../providers/registry.js';
import type { IgnitionObjects, NodeBootData } from '../../providers/types.js';
import { waitFor } from '../cluster/wait.js';
import { IgnitionService } from '../ignition-service/index.js';
import { planPointerDelivery } from './ignition-delivery.js';
import { deleteStoredConfig, planObjectDelivery } from './ignition-objects.js';
import type { DeployContext } from './deploy-context.js';

export interface RunningDelivery {
  nodes: NodeBootData[];
  /** With object-store delivery: what the provider's program stores and signs. */
  objects?: IgnitionObjects;
  stop(): Promise<void>;
}

/**
 * What the service serves: only nodes that never fetched. A later deploy or scale must not serve an
 * existing node's config (for a control plane: the CA keys) again to whoever reads its token from the
 * metadata service.
 */
export function configsToServe(
  nodes: readonly NodeBootData[],
  tokens: Readonly<Record<string, string>>,
  fetched: Readonly<Record<string, string | undefined>>,
): Map<string, { body: string; token: string }> {
  return new Map(
    nodes
      .filter((n) => fetched[n.node.name] === undefined)
      .map((n) => [n.node.name, { body: n.ignition, token: tokens[n.node.name]! }]),
  );
}

/** Boot data for the provider; for pointer delivery, with the Ignition service started. */
export async function startDelivery(ctx: DeployContext): Promise<RunningDelivery> {
  const { plan, config, rendered, paths } = ctx.prepared;
  const provider = providerFor(plan.platform.name);
  const direct = rendered.map((r) => ({ node: r.node, ignition: r.ignitionText }));
  if (provider.delivery !== 'pointer') return { nodes: direct, stop: async () => {} };

  const platformConfig = config.spec.platform[plan.platform.name];
  const objectStore = provider.objectStoreDelivery?.(platformConfig);
  if (objectStore) {
    const objects = planObjectDelivery(objectStore, {
      clusterDir: paths.root,
      nodes: plan.nodes.map((n) => n.name),
      fetched: ctx.state.ignitionFetched,
      nowMs: Date.now(),
    });
    ctx.info(
      `Node configs go to the object store: ${objects.store.length} to store, their URLs valid for ${objectStore.urlLifetimeMinutes} min`,
    );
    return { nodes: direct, objects, stop: async () => {} };
  }
  const delivery = await planPointerDelivery(provider, platformConfig, rendered, paths.root);
  const service = new IgnitionService({
    ca: delivery.ca,
    log: (message) => ctx.log.debug(`ignition-service: ${message}`),
    onFetch: (record) => {
      if (ctx.state.ignitionFetched[record.node] === undefined) {
        ctx.state.ignitionFetched[record.node] = new Date().toISOString();
        ctx.saveState();
      }
      ctx.nodeState(record.node, 'ignition-fetched');
    },
  });
  const configs = configsToServe(delivery.nodes, delivery.tokens, ctx.state.ignitionFetched);
  const running = await service.start({ ...delivery.listen, configs, addresses: [delivery.advertise] });
  ctx.info(
    `Ignition service listening on ${delivery.listen.host}:${running.port}, advertised as ${delivery.advertise}`,
  );
  return { nodes: delivery.nodes, stop: () => running.stop() };
}

/** Waits until every planned node has fetched its config (in this run or an earlier one). */
export async function waitForIgnitionFetches(ctx: DeployContext): Promise<void> {
  const names = ctx.prepared.plan.nodes.map((n) => n.name);
  const unfetched = () => names.filter((n) => ctx.state.ignitionFetched[n] === undefined);
  await waitFor<void>({
    what: `${names.length} node(s) to fetch their Ignition config`,
    timeoutMs: ctx.options.timeouts.fetchMs,
    ...ctx.waitTuning(),
    onProgress: (line) => ctx.info(`  ${line}`),
    probe: async () => {
      const left = unfetched();
      return left.length === 0
        ? { done: true, value: undefined }
        : { done: false, status: `${names.length - left.length}/${names.length} fetched` };
    },
    diagnose: () => [
      `never fetched their Ignition config: ${unfetched().join(', ')}`,
      'check that they can reach the advertised Ignition service address (spec.platform.*.ignitionService), and their consoles',
      ...ctx.consoleHints(),
    ],
  });
}

/** Whether nodes fetch their configs from the platform's object store (no Ignition service runs). */
export function usesObjectStore(ctx: DeployContext): boolean {
  const { plan, config } = ctx.prepared;
  return (
    providerFor(plan.platform.name).objectStoreDelivery?.(config.spec.platform[plan.platform.name]) !==
    undefined
  );
}

/**
 * With object-store delivery, a node that joined has fetched its config: recorded (no object is stored
 * for it again), and its object deleted now rather than left until the URL expires.
 */
export async function nodeJoined(ctx: DeployContext, node: string): Promise<void> {
  const { plan, config, paths } = ctx.prepared;
  const objectStore = providerFor(plan.platform.name).objectStoreDelivery?.(
    config.spec.platform[plan.platform.name],
  );
  if (objectStore === undefined || ctx.state.ignitionFetched[node] !== undefined) return;
  ctx.state.ignitionFetched[node] = new Date().toISOString();
  ctx.saveState();
  const warning = await deleteStoredConfig(objectStore, {
    outputs: ctx.outputs,
    clusterDir: paths.root,
    node,
    nowMs: Date.now(),
  });
  if (warning !== undefined) ctx.warn(warning);
}
