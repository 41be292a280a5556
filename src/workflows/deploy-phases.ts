// The deploy's phases after rendering, each with the digest of what it acts on, an optional cheap
// check that its earlier result still holds, and the work itself. deploy.ts runs them in order.
import { join } from 'node:path';
import { providerFor } from '../../providers/registry.js';
import type { ProvisionOutputs } from '../../providers/types.js';
import { defaultHousekeeperImage, housekeeperManifests } from '../addons/housekeeper/manifests.js';
import { resolveNetworkAddon } from '../addons/network/index.js';
import { KubeApiError } from '../cluster/errors.js';
import { serializeManifests } from '../cluster/manifests.js';
import type { KubeObject } from '../cluster/types.js';
import { waitForApiServer } from '../cluster/waits.js';
import { waitForNodesReady } from '../cluster/waits.js';
import { waitForWorkloads, workloadPath, workloadsOf, workloadReadiness } from '../cluster/workloads.js';
import { ExitCode, NkdError } from '../errors.js';
import { renderAdminKubeconfig } from '../pki/kubeconfig.js';
import { ensurePrivateDir, writePrivateFile } from '../state/paths.js';
import { apiTarget, deployedPlanPath, outputsPath, writeDeployedConfig } from './cluster-access.js';
import type { DeployContext } from './deploy-context.js';
import { digestOf, type DeployPhase } from './deploy-state.js';
import { postDeployManifests, preDeployHooks, runPreDeployHooks } from './hooks.js';
import { adminKube, bootstrapTokenSecret, drainAndDelete, removeControlPlaneNode } from './scale.js';
import { startDelivery, waitForIgnitionFetches, type RunningDelivery } from './ignition-phase.js';

export interface Phase {
  name: DeployPhase;
  /** A string says why the phase does not apply to this cluster. */
  notApplicable?: string;
  digest: string;
  /** For a phase done earlier: does its result still hold? (Not given: the digest is enough.) */
  verify?: () => Promise<boolean>;
  run: () => Promise<void>;
}

/** What provisioning acts on: the plan, the platform settings, and this nkd's rendering of them. */
export function provisionDigest(
  planned: { plan: unknown; config: { spec: { platform: unknown } } },
  nkdVersion: string,
): string {
  return digestOf(planned.plan, planned.config.spec.platform, nkdVersion);
}

export async function buildPhases(
  ctx: DeployContext,
): Promise<{ phases: Phase[]; cleanup: () => Promise<void> }> {
  const { plan, config, paths } = ctx.prepared;
  const provider = providerFor(plan.platform.name);
  const provDigest = provisionDigest(ctx.prepared, ctx.options.nkdVersion);
  let delivery: RunningDelivery | undefined;
  const startOnce = async () => (delivery ??= await startDelivery(ctx));

  const hooks = preDeployHooks(config.spec.hooks.preDeploy, ctx.baseDir);
  const network = await resolveNetworkAddon(config, {
    baseDir: ctx.baseDir,
    ...(ctx.options.fetchManifest ? { fetch: ctx.options.fetchManifest } : {}),
  });
  const housekeeperImage = config.spec.housekeeper.image || defaultHousekeeperImage(ctx.options.nkdVersion);
  const housekeeper = config.spec.housekeeper.enabled
    ? housekeeperManifests({ image: housekeeperImage, nkdVersion: ctx.options.nkdVersion })
    : undefined;
  const post = postDeployManifests(config.spec.hooks.postDeploy, ctx.baseDir);
  const nodeNames = plan.nodes.map((n) => n.name);
  const removedWorkers = ctx.diff.remove.filter((n) => n.role === 'worker').map((n) => n.name);
  // Control-plane nodes leave one at a time, highest-numbered first, after the workers.
  const removedControlPlanes = ctx.diff.remove
    .filter((n) => n.role === 'control-plane')
    .map((n) => n.name)
    .reverse();
  const remainingControlPlanes = plan.nodes.filter((n) => n.role === 'control-plane').map((n) => n.name);

  const phases: Phase[] = [
    {
      name: 'pre-deploy',
      ...(hooks.length === 0 ? { notApplicable: 'no pre-deploy hooks' } : {}),
      // Hooks guard provisioning: they run again whenever provisioning's inputs change.
      digest: digestOf(provDigest, hooks),
      run: () =>
        runPreDeployHooks(
          hooks,
          {
            cluster: plan.name,
            clusterDir: paths.root,
            plan: paths.plan,
            baseDir: ctx.baseDir,
            timeoutMs: ctx.options.timeouts.hookMs,
          },
          (line) => ctx.info(`  ${line}`),
          ctx.options.signal,
        ),
    },
    {
      name: 'drain',
      ...(removedWorkers.length + removedControlPlanes.length === 0
        ? { notApplicable: 'no node is removed' }
        : {}),
      digest: digestOf(removedWorkers, removedControlPlanes),
      run: async () => {
        const kube = adminKube(ctx.prepared.pki, apiTarget(plan, ctx.outputs));
        try {
          for (const node of removedWorkers) {
            await drainAndDelete(kube, node, {
              timeoutMs: ctx.options.drainTimeoutMs ?? 5 * 60_000,
              force: ctx.options.forceDrain ?? false,
              log: (line) => ctx.info(`  ${line}`),
              signal: ctx.options.signal,
              ...(ctx.options.waitTuning?.maxDelayMs !== undefined
                ? { pollMs: ctx.options.waitTuning.maxDelayMs }
                : {}),
            });
          }
          for (const node of removedControlPlanes) {
            await removeControlPlaneNode(kube, node, remainingControlPlanes, {
              timeoutMs: ctx.options.drainTimeoutMs ?? 5 * 60_000,
              leaveTimeoutMs: ctx.options.drainTimeoutMs ?? 5 * 60_000,
              force: ctx.options.forceDrain ?? false,
              log: (line) => ctx.info(`  ${line}`),
              signal: ctx.options.signal,
              ...(ctx.options.waitTuning?.maxDelayMs !== undefined
                ? { pollMs: ctx.options.waitTuning.maxDelayMs }
                : {}),
            });
          }
        } finally {
          kube.close();
        }
        // A node of the same name added later is a new machine that must fetch its config again.
        for (const node of [...removedWorkers, ...removedControlPlanes])
          delete ctx.state.ignitionFetched[node];
        ctx.saveState();
      },
    },
    {
      name: 'join-token',
      ...(ctx.joinToken ? {} : { notApplicable: 'no node is added to a running cluster' }),
      digest: digestOf(ctx.joinToken ?? null),
      run: async () => {
        const token = ctx.joinToken!;
        await ctx.client().apply([bootstrapTokenSecret(token) as never]);
        ctx.info(`  a bootstrap token valid until ${token.expires} lets ${token.nodes.join(', ')} join`);
      },
    },
    {
      name: 'provision',
      digest: provDigest,
      verify: async () => ctx.outputs !== undefined,
      run: async () => {
        const n = plan.nodes.length;
        await ctx.options.confirmProvisioning(
          `Provision ${n} node(s) for cluster ${plan.name} on ${plan.platform.name}?`,
        );
        const { nodes } = await startOnce();
        ctx.info(`Provisioning ${n} node(s) on ${provider.name}`);
        const raw = await ctx.options.engine.up({
          cluster: plan.name,
          clusterDir: paths.root,
          provider: provider as never,
          input: { plan, platform: config.spec.platform[plan.platform.name], nodes, clusterDir: paths.root },
          onProgress: (line) => ctx.info(`  ${line}`),
          signal: ctx.options.signal,
        });
        const outputs = raw as unknown as ProvisionOutputs;
        writePrivateFile(outputsPath(paths), `${JSON.stringify(outputs, null, 2)}\n`);
        // What exists now: later config edits are diffed against this plan.
        writePrivateFile(deployedPlanPath(paths), `${JSON.stringify(plan, null, 2)}\n`);
        writeDeployedConfig(paths, { configFile: ctx.options.configFile, baseDir: ctx.baseDir, config });
        ctx.outputs = outputs;
        for (const node of outputs.nodes ?? []) ctx.nodeState(node.name, 'created');
        writeKubeconfig(ctx);
      },
    },
    {
      name: 'ignition',
      ...(provider.delivery === 'pointer'
        ? {}
        : { notApplicable: 'configs are passed to the machines directly' }),
      digest: provDigest,
      run: async () => {
        await startOnce();
        try {
          await waitForIgnitionFetches(ctx);
        } finally {
          await delivery?.stop();
          delivery = undefined;
        }
      },
    },
    {
      name: 'wait-api',
      // Where the API is follows from provisioning; its digest stands for the endpoint.
      digest: provDigest,
      verify: async () =>
        (
          await ctx
            .client()
            .readyz()
            .catch(() => ({ ok: false }))
        ).ok,
      run: () =>
        waitForApiServer(ctx.client(), {
          timeoutMs: ctx.options.timeouts.apiMs,
          ...ctx.waitTuning(),
          onProgress: (line) => ctx.info(`  ${line}`),
          diagnose: () => diagnostics(ctx),
        }),
    },
    addonPhase(ctx, 'network', network?.objects, {
      notApplicable: 'spec.network.plugin is none',
      describe: network ? `${network.plugin} ${network.version} (${network.source})` : '',
    }),
    {
      name: 'wait-nodes',
      digest: digestOf(nodeNames, network !== undefined),
      verify: async () => {
        const nodes = await ctx
          .client()
          .listNodes()
          .catch(() => []);
        const ready = new Set(nodes.filter((n) => n.ready || !network).map((n) => n.name));
        return nodeNames.every((n) => ready.has(n));
      },
      run: async () => {
        if (!network)
          ctx.warn(
            'no network plugin (spec.network.plugin: none): waiting for the nodes to join, not to be Ready',
          );
        await waitForNodesReady(ctx.client(), nodeNames, {
          timeoutMs: ctx.options.timeouts.nodesMs,
          requireReady: network !== undefined,
          ...ctx.waitTuning(),
          onProgress: (line, event) => {
            if (event.type === 'node-joined') ctx.nodeState(event.node.name, 'joined');
            else if (event.type === 'node-ready') ctx.nodeState(event.node.name, 'ready');
            else ctx.info(`  ${line}`);
          },
          diagnose: () => diagnostics(ctx),
        });
      },
    },
    addonPhase(ctx, 'housekeeper', housekeeper, {
      notApplicable: 'spec.housekeeper.enabled is false',
      describe: `image ${housekeeperImage}`,
      hints: [
        `every node must be able to pull ${housekeeperImage} (spec.housekeeper.image); the cluster itself is up: set spec.housekeeper.enabled: false to deploy without Housekeeper`,
      ],
    }),
    addonPhase(ctx, 'post-deploy', post.objects.length > 0 ? post.objects : undefined, {
      notApplicable: 'no post-deploy manifests',
      describe: `${post.files.length} file(s)`,
      waitForWorkloads: false,
    }),
  ];
  return { phases, cleanup: async () => void (await delivery?.stop()) };
}

function writeKubeconfig(ctx: DeployContext): void {
  const { plan, paths, pki } = ctx.prepared;
  const target = apiTarget(plan, ctx.outputs);
  writePrivateFile(
    paths.adminKubeconfig,
    renderAdminKubeconfig(pki, plan.name, target.server, target.tlsServerName),
  );
  ctx.info(`Kubeconfig written to ${paths.adminKubeconfig} (server ${target.server})`);
}

/** Applies objects with server-side apply, keeps a copy in the state, and waits for their workloads. */
function addonPhase(
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
  if (provider.delivery === 'pointer') {
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
