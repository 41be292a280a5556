// provision: the rendered cluster becomes infrastructure through the provider's Pulumi program. For
// pointer delivery, nkd's Ignition service runs for the duration and deploy waits until every node has
// fetched its config (or says which never did).
import { join } from 'node:path';
import { providerFor } from '../../providers/registry.js';
import type { NodeBootData, ProvisionOutputs } from '../../providers/types.js';
import { destroyStack, upStack } from '../engine/stack.js';
import type { PulumiCli } from '../engine/pulumi-cli.js';
import { ExitCode, NkdError } from '../errors.js';
import { IgnitionService } from '../ignition-service/index.js';
import type { DebugLog } from '../lib/log.js';
import { writePrivateFile } from '../state/paths.js';
import { planPointerDelivery, requireIgnitionService } from './ignition-delivery.js';
import type { PlannedCluster, PreparedCluster, Progress } from './prepare.js';

export interface ProvisionOptions {
  prepared: PreparedCluster;
  cli: PulumiCli;
  backendUrl: string | undefined;
  progress: Progress;
  log: DebugLog;
  signal: AbortSignal;
  /** How long nodes may take to fetch their Ignition config after provisioning (pointer delivery). */
  fetchTimeoutMs: number;
}

/** Checks that need no infrastructure, run before the user is asked and before anything is written. */
export function preflightProvisioning(planned: PlannedCluster): void {
  const provider = providerFor(planned.plan.platform.name);
  const platformConfig = planned.config.spec.platform[planned.plan.platform.name];
  if (provider.delivery === 'pointer') requireIgnitionService(provider, platformConfig);
}

export async function provisionCluster(options: ProvisionOptions): Promise<ProvisionOutputs> {
  const { prepared, progress } = options;
  const { plan, paths } = prepared;
  const provider = providerFor(plan.platform.name);
  const platformConfig = prepared.config.spec.platform[plan.platform.name];
  let nodes: NodeBootData[] = prepared.rendered.map((r) => ({ node: r.node, ignition: r.ignitionText }));
  let service: IgnitionService | undefined;
  let running: Awaited<ReturnType<IgnitionService['start']>> | undefined;

  if (provider.delivery === 'pointer') {
    const delivery = await planPointerDelivery(provider, platformConfig, prepared.rendered, paths.root);
    nodes = delivery.nodes;
    service = new IgnitionService({
      ca: delivery.ca,
      log: (message) => options.log.debug(`ignition-service: ${message}`),
      onFetch: (record) => progress.step(`${record.node}: fetched its Ignition config`),
    });
    const configs = new Map(
      nodes.map((n) => [n.node.name, { body: n.ignition, token: delivery.tokens[n.node.name]! }]),
    );
    running = await service.start({ ...delivery.listen, configs, addresses: [delivery.advertise] });
    progress.step(
      `Ignition service listening on ${delivery.listen.host}:${running.port}, advertised as ${delivery.advertise}`,
    );
  }

  try {
    const program = await provider.loadProgram();
    progress.step(`Provisioning ${nodes.length} node(s) on ${provider.name} through Pulumi`);
    const outputs = (await upStack({
      cluster: plan.name,
      clusterDir: paths.root,
      cli: options.cli,
      backendUrl: options.backendUrl,
      program: () => program.run({ plan, platform: platformConfig, nodes, clusterDir: paths.root }),
      onProgress: (line) => progress.step(`  ${line}`),
      signal: options.signal,
    })) as unknown as ProvisionOutputs;
    writePrivateFile(join(paths.root, 'outputs.json'), `${JSON.stringify(outputs, null, 2)}\n`);
    if (service) await waitForFetches(service, options);
    return outputs;
  } finally {
    await running?.stop();
  }
}

async function waitForFetches(service: IgnitionService, options: ProvisionOptions): Promise<void> {
  const deadline = Date.now() + options.fetchTimeoutMs;
  const until = new Date(deadline).toLocaleTimeString();
  options.progress.step(
    `Waiting up to ${Math.round(options.fetchTimeoutMs / 60000)}m (until ${until}) for every node to fetch its Ignition config`,
  );
  while (service.unfetchedNodes().length > 0) {
    if (options.signal.aborted) throw new NkdError('interrupted', ExitCode.Interrupted);
    if (Date.now() > deadline) {
      throw new NkdError(
        `these nodes never fetched their Ignition config: ${service.unfetchedNodes().join(', ')}; check that they can reach the advertised Ignition service address, and their consoles`,
        ExitCode.Provisioning,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

export async function destroyCluster(options: {
  cluster: string;
  clusterDir: string;
  cli: PulumiCli;
  backendUrl: string | undefined;
  progress: Progress;
  signal: AbortSignal;
}): Promise<void> {
  await destroyStack({
    cluster: options.cluster,
    clusterDir: options.clusterDir,
    cli: options.cli,
    backendUrl: options.backendUrl,
    program: async () => ({}),
    onProgress: (line) => options.progress.step(`  ${line}`),
    signal: options.signal,
  });
}
