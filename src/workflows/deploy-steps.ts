// The pieces of the deploy phases that are more than a few lines: the add-on apply-and-wait phase, the
// kubeconfig, serial control-plane joins, and the diagnostics every wait ends with.
import { join } from 'node:path';
import { providerFor } from '../../providers/registry.js';
import type { ProvisionOutputs } from '../../providers/types.js';
import { KubeApiError } from '../kube/errors.js';
import { serializeManifests } from '../cluster/manifests.js';
import type { KubeObject } from '../cluster/types.js';
import { waitForNodesReady } from '../cluster/waits.js';
import { waitForWorkloads, workloadPath, workloadsOf, workloadReadiness } from '../cluster/workloads.js';
import { ExitCode, NkdError } from '../errors.js';
import { renderAdminKubeconfig } from '../pki/kubeconfig.js';
import { ensurePrivateDir, writePrivateFile } from '../state/paths.js';
import { apiTarget } from './cluster-access.js';
import type { DeployContext } from './deploy-context.js';
import { digestOf } from './deploy-state.js';
import type { Phase } from './deploy-phases.js';
export function writeKubeconfig(ctx: DeployContext): void {
  const { plan, paths, pki } = ctx.prepared;
  const target = apiTarget(plan, ctx.outputs);
  writePrivateFile(
    paths.adminKubeconfig,
    renderAdminKubeconfig(pki, plan.name, target.server, target.tlsServerName),
  );
  ctx.info(`Kubeconfig written to ${paths.adminKubeconfig} (server ${target.server})`);
}

/** Applies objects with server-side apply, keeps a copy in the state, and waits for their workloads. */
export function addonPhase(
  ctx: DeployContext,
  name: 'network' | 'housekeeper' | 'post-deploy',
  objects: KubeObject[] | undefined,
  options: { notApplicable: string; describe: string; waitForWorkloads?: boolean; hints?: string[] },
): Phase {
  const workloads = objects && options.waitForWorkloads !== false ? workloadsOf(objects) : [];
  return {
    name,
    ...(objects ? {} : { notApplicable: options.notApplicable }),
    digest: digestOf(objects ?? []),
    verify: async () => {
      if (workloads.length === 0) return true;
      const client = ctx.client();
      for (const ref of workloads) {
        const path = workloadPath(ref);
        const obj = await client.getObject(path).catch(() => undefined);
        if (!obj || !workloadReadiness(ref.kind, obj).ready) return false;
      }
      return true;
    },
    run: async () => {
      if (!objects) return;
      ctx.info(`Applying ${objects.length} object(s): ${name} ${options.describe}`);
      const dir = join(ctx.prepared.paths.root, 'applied');
      ensurePrivateDir(dir);
      writePrivateFile(join(dir, `${name}.yaml`), serializeManifests(objects));
      try {
        await ctx.client().apply(objects);
      } catch (err) {
        if (err instanceof KubeApiError) {
          throw new NkdError(
            `${name}: the cluster refused an object: ${err.message}`,
            ExitCode.ClusterOperation,
          );
        }
        throw err;
      }
      if (workloads.length === 0) return;
      await waitForWorkloads(ctx.client(), workloads, {
        what: `the ${name} workloads to roll out`,
        timeoutMs: ctx.options.timeouts.addonsMs,
        ...ctx.waitTuning(),
        onProgress: (line) => ctx.info(`  ${line}`),
        diagnose: () => [...(options.hints ?? []), ...diagnostics(ctx)],
      });
    },
  };
}

/** Timeout diagnostics shared by every wait: Ignition fetches, console logs, the debug log. */
export function diagnostics(ctx: DeployContext): string[] {
  const { plan } = ctx.prepared;
  const provider = providerFor(plan.platform.name);
  const lines: string[] = [];
  if (provider.objectStoreDelivery?.(ctx.prepared.config.spec.platform[plan.platform.name])) {
    lines.push(
      "the nodes fetch their configs from the object store by a TempURL: check that they reach it (the catalog's public object-store endpoint) and that its TempURL middleware is on",
    );
  } else if (provider.delivery === 'pointer') {
    const fetched = plan.nodes.filter((n) => ctx.state.ignitionFetched[n.name]).map((n) => n.name);
    const never = plan.nodes.filter((n) => !ctx.state.ignitionFetched[n.name]).map((n) => n.name);
    if (fetched.length > 0) lines.push(`fetched their Ignition config: ${fetched.join(', ')}`);
    if (never.length > 0) lines.push(`never fetched their Ignition config: ${never.join(', ')}`);
  } else {
    lines.push(
      `Ignition configs were passed to the machines directly (${provider.name}); check the consoles`,
    );
  }
  lines.push(...ctx.consoleHints());
  return lines;
}

/**
 * New control-plane nodes of a running cluster join etcd one at a time: each but the last is provisioned
 * alone and awaited Ready before the next (the last comes with the full provisioning).
 */
export async function addControlPlanesOneByOne(
  ctx: DeployContext,
  up: (only?: ReadonlySet<string>) => Promise<Record<string, unknown>>,
): Promise<void> {
  if (ctx.diff.firstDeploy) return;
  const added = new Set(ctx.diff.add.map((n) => n.name));
  const newControlPlanes = ctx.diff.add.filter((n) => n.role === 'control-plane');
  const present = new Set(ctx.prepared.plan.nodes.filter((n) => !added.has(n.name)).map((n) => n.name));
  for (const [i, node] of newControlPlanes.slice(0, -1).entries()) {
    present.add(node.name);
    ctx.info(
      `Adding control-plane node ${node.name} alone (${i + 1} of ${newControlPlanes.length}): etcd members join one at a time`,
    );
    ctx.outputs = (await up(present)) as unknown as ProvisionOutputs;
    ctx.nodeState(node.name, 'created');
    await waitForNodesReady(ctx.client(), [node.name], {
      timeoutMs: ctx.options.timeouts.nodesMs,
      ...ctx.waitTuning(),
      onProgress: (line, event) => {
        if (event.type === 'node-joined') ctx.nodeState(event.node.name, 'joined');
        else if (event.type === 'node-ready') ctx.nodeState(event.node.name, 'ready');
        else ctx.info(`  ${line}`);
      },
      diagnose: () => diagnostics(ctx),
    });
  }
}
