// The deploy's phases after rendering, each with the digest of what it acts on, an optional cheap
// check that its earlier result still holds, and the work itself. deploy.ts runs them in order.
import { providerFor } from '../../providers/registry.js';
import type { ProvisionOutputs } from '../../providers/types.js';
import type { EngineUpRequest } from '../engine/types.js';
import { defaultHousekeeperImage, housekeeperManifests } from '../addons/housekeeper/manifests.js';
import { resolveNetworkAddon } from '../addons/network/index.js';
import { waitForApiServer, waitForNodesReady } from '../cluster/waits.js';
import { writePrivateFile } from '../state/paths.js';
import { apiTarget, deployedPlanPath, outputsPath, writeDeployedConfig } from './cluster-access.js';
import type { DeployContext } from './deploy-context.js';
import { digestOf, type DeployPhase } from './deploy-state.js';
import { postDeployManifests, preDeployHooks, runPreDeployHooks } from './hooks.js';
import { adminKube, bootstrapTokenSecret, drainAndDelete, removeControlPlaneNode } from './scale.js';
import {
  nodeJoined,
  startDelivery,
  usesObjectStore,
  waitForIgnitionFetches,
  type RunningDelivery,
} from './ignition-phase.js';
import { addControlPlanesOneByOne, addonPhase, diagnostics, writeKubeconfig } from './deploy-steps.js';

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
  const objectStore = usesObjectStore(ctx);
  const startOnce = async () => (delivery ??= await startDelivery(ctx));

  const hooks = preDeployHooks(config.spec.hooks.preDeploy, ctx.baseDir);
  const network = await resolveNetworkAddon(config, {
    baseDir: ctx.baseDir,
    apiServer: ctx.prepared.plan.kubernetes.controlPlaneEndpoint,
    ...(ctx.options.fetchManifest ? { fetch: ctx.options.fetchManifest } : {}),
  });
  const housekeeperImage =
    config.spec.housekeeper.image ||
    defaultHousekeeperImage(ctx.options.nkdVersion, config.spec.kubernetes.imageRepository);
  const housekeeper = config.spec.housekeeper.enabled
    ? housekeeperManifests({
        image: housekeeperImage,
        nkdVersion: ctx.options.nkdVersion,
        kubeVersion: plan.kubernetes.version,
        apiServer: plan.kubernetes.controlPlaneEndpoint,
      })
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

  /** What the engine is asked for: every node, or (one control plane at a time) only `only`. */
  const engineRequest = (delivery: RunningDelivery, only?: ReadonlySet<string>): EngineUpRequest => ({
    cluster: plan.name,
    clusterDir: paths.root,
    provider: provider as never,
    input: {
      plan: only ? { ...plan, nodes: plan.nodes.filter((p) => only.has(p.name)) } : plan,
      platform: config.spec.platform[plan.platform.name],
      nodes: only ? delivery.nodes.filter((b) => only.has(b.node.name)) : delivery.nodes,
      clusterDir: paths.root,
      ...(delivery.objects ? { ignitionObjects: delivery.objects } : {}),
    },
    onProgress: (line) => ctx.info(`  ${line}`),
    signal: ctx.options.signal,
    // Control-plane machines are protected; a confirmed, drained removal lifts that first.
    releaseProtection: removedControlPlanes.length > 0,
  });

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
        const answersNow = async () =>
          (
            await ctx
              .client()
              .readyz()
              .catch(() => ({ ok: false }))
          ).ok;
        if (ctx.state.apiAnsweredAt === undefined && !(await answersNow())) {
          // The API server never answered since the machines were made: no node can have joined.
          ctx.info('  the API server never answered: no node ever joined, nothing to drain');
          return;
        }
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
      // Done earlier and still true: the engine, having read back every object, would change nothing
      // (a machine deleted by hand makes this phase run again and re-create it).
      verify: async () => {
        if (ctx.outputs === undefined) return false;
        const pending = await ctx.options.engine.pendingChanges(engineRequest(await startOnce()));
        if (pending > 0) ctx.info(`  the infrastructure differs from the config in ${pending} object(s)`);
        return pending === 0;
      },
      run: async () => {
        const n = plan.nodes.length;
        await ctx.options.confirmProvisioning(
          `Provision ${n} node(s) for cluster ${plan.name} on ${plan.platform.name}?`,
        );
        const running = await startOnce();
        const up = (only?: ReadonlySet<string>) => ctx.options.engine.up(engineRequest(running, only));
        await addControlPlanesOneByOne(ctx, up);
        ctx.info(`Provisioning ${n} node(s) on ${provider.name}`);
        const raw = await up();
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
      ...(provider.delivery !== 'pointer'
        ? { notApplicable: 'configs are passed to the machines directly' }
        : objectStore
          ? { notApplicable: 'nodes fetch their configs from the object store' }
          : {}),
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
      run: async () => {
        await waitForApiServer(ctx.client(), {
          timeoutMs: ctx.options.timeouts.apiMs,
          ...ctx.waitTuning(),
          onProgress: (line) => ctx.info(`  ${line}`),
          diagnose: () => diagnostics(ctx),
        });
        ctx.state.apiAnsweredAt ??= new Date().toISOString();
        ctx.saveState();
      },
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
        const joined: Promise<void>[] = [];
        await waitForNodesReady(ctx.client(), nodeNames, {
          timeoutMs: ctx.options.timeouts.nodesMs,
          requireReady: network !== undefined,
          ...ctx.waitTuning(),
          onProgress: (line, event) => {
            if (event.type === 'node-joined') {
              ctx.nodeState(event.node.name, 'joined');
              joined.push(nodeJoined(ctx, event.node.name));
            } else if (event.type === 'node-ready') ctx.nodeState(event.node.name, 'ready');
            else ctx.info(`  ${line}`);
          },
          diagnose: () => diagnostics(ctx),
        });
        await Promise.all(joined);
        // Nodes that joined in an earlier run (object-store delivery records them as having fetched).
        if (objectStore) await Promise.all(nodeNames.map((n) => nodeJoined(ctx, n)));
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
