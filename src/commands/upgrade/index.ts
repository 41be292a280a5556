import { Flags } from '@oclif/core';
import { clusterNameArg } from '../../cli/args.js';
import { NkdCommand } from '../../cli/base.js';
import { durationFlag, optionalDurationFlag } from '../../cli/duration.js';
import { withInterrupt } from '../../cli/interrupt.js';
import { ExitCode, NkdError } from '../../errors.js';
import { clusterPaths } from '../../state/paths.js';
import { adminClient } from '../../workflows/upgrade-access.js';
import { recordCompletedUpdate } from '../../workflows/upgrade-record.js';
import {
  setPaused,
  startUpgrade,
  upgradeRefusals,
  watchUpgrade,
  type UpgradeRequest,
} from '../../workflows/upgrade.js';

export default class Upgrade extends NkdCommand {
  static override summary =
    'Roll a new Kubernetes version and/or NestOS image through the cluster with Housekeeper.';
  static override description = [
    'Creates a Housekeeper Update carrying exactly the requested values. The operator upgrades the control-plane nodes one at a time (the first runs `kubeadm upgrade apply`), then the workers, at most --max-unavailable at once; each node is cordoned, drained (PodDisruptionBudgets honoured), rebased onto the new OS image and rebooted and/or upgraded with kubeadm, verified and uncordoned. A node proceeds only once the previous ones are Ready on the new versions and kube-system is healthy.',
    'Refused before anything is created: a downgrade, a skip of more than one Kubernetes minor version, or an upgrade while another one is unfinished. --pause stops before the next node (nodes in progress finish); --resume continues.',
    'Exit codes: 0 done (or created, without --wait), 2 refused request (a malformed --kube-version or --os-image is refused before the cluster is contacted), 4 no such cluster / another upgrade running, 7 --wait timed out or the cluster is unreachable, 8 the upgrade failed on a node (the message says which and why).',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> upgrade demo --kube-version v1.37.2 --wait',
    '<%= config.bin %> upgrade demo --os-image registry.example/nestos:24.09 --max-unavailable 2 --wait',
    '<%= config.bin %> upgrade demo --pause',
    '<%= config.bin %> upgrade demo --resume --wait',
    '<%= config.bin %> upgrade status demo',
  ];
  static override enableJsonFlag = true;
  static override args = { name: clusterNameArg({ required: true }) };
  static override flags = {
    'kube-version': Flags.string({ description: 'Target Kubernetes version (one minor version up at most)' }),
    'os-image': Flags.string({
      description: 'NestOS image to rebase every node onto (container image reference)',
    }),
    'max-unavailable': Flags.integer({ description: 'Workers upgraded at once', min: 1 }),
    force: Flags.boolean({
      description: 'Delete pods whose eviction a PodDisruptionBudget still blocks at the drain timeout',
    }),
    'drain-timeout': optionalDurationFlag({
      description: 'Per node drain timeout [default: 5m, set by the Update API]',
    }),
    pause: Flags.boolean({
      description: 'Pause the current upgrade before its next node',
      exclusive: ['resume', 'kube-version', 'os-image'],
    }),
    resume: Flags.boolean({
      description: 'Resume a paused upgrade',
      exclusive: ['pause', 'kube-version', 'os-image'],
    }),
    wait: Flags.boolean({ description: 'Follow the upgrade node by node until it completes' }),
    timeout: durationFlag({ description: 'How long --wait waits', default: '2h' }),
  };

  protected static override streamsJsonLines = true;

  async run(): Promise<object> {
    const { args, flags } = await this.parse(Upgrade);
    if (!flags.pause && !flags.resume) {
      // What the request alone shows wrong is refused before the cluster is contacted.
      const refusals = upgradeRefusals(upgradeRequest(flags), [], []);
      if (refusals.length > 0)
        throw new NkdError(`upgrade refused: ${refusals[0]}`, ExitCode.Usage, refusals.slice(1));
    }
    const paths = clusterPaths(this.stateDir(flags), args.name);
    const client = await adminClient(this.stateDir(flags), args.name);
    const emit = (event: object, text: string) => {
      this.debugLog.debug(text);
      if (this.jsonEnabled())
        process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
      else process.stderr.write(`${text}\n`);
    };
    try {
      let name: string;
      if (flags.pause || flags.resume) {
        const update = await setPaused(client, flags.pause);
        name = update.metadata.name;
        emit(
          { type: 'info', message: `${flags.pause ? 'paused' : 'resumed'} ${name}` },
          `Update ${name} ${flags.pause ? 'paused: nodes in progress finish, no other starts' : 'resumed'}`,
        );
      } else {
        const update = await startUpgrade(client, upgradeRequest(flags));
        name = update.metadata.name;
        emit(
          { type: 'info', message: `created ${name}`, spec: update.spec },
          `Created Update ${name} in housekeeper-system: ${JSON.stringify(update.spec)}`,
        );
      }
      if (!flags.wait) {
        if (!this.jsonEnabled()) this.out(`Follow it with: nkd upgrade status ${args.name}`);
        return { type: 'result', cluster: args.name, update: name, completed: false };
      }
      const done = await withInterrupt((signal) =>
        watchUpgrade(client, name, {
          timeoutMs: flags.timeout,
          signal,
          onNode: (line, node) =>
            emit({ type: 'node', node: node.name, role: node.role, phase: node.phase, message: line }, line),
          onLine: (line) => emit({ type: 'info', message: line }, line),
        }),
      );
      // Recorded in the cluster's state: nodes added later (nkd scale, deploy) boot on these versions.
      try {
        recordCompletedUpdate(paths, done);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        emit(
          { type: 'warning', message: `not recorded: ${why}` },
          `warning: the upgrade completed, but nkd could not record it (${why}); the next deploy, scale or status reads it from the cluster`,
        );
      }
      if (!this.jsonEnabled())
        this.out(`Upgrade ${name} completed on ${done.status?.nodes?.length ?? 0} node(s).`);
      return { type: 'result', cluster: args.name, update: name, completed: true, status: done.status };
    } finally {
      client.close();
    }
  }
}

function upgradeRequest(flags: {
  'kube-version'?: string | undefined;
  'os-image'?: string | undefined;
  'max-unavailable'?: number | undefined;
  force: boolean;
  'drain-timeout'?: number | undefined;
}): UpgradeRequest {
  return {
    ...(flags['kube-version'] ? { kubeVersion: flags['kube-version'] } : {}),
    ...(flags['os-image'] ? { osImageURL: flags['os-image'] } : {}),
    ...(flags['max-unavailable'] ? { maxUnavailable: flags['max-unavailable'] } : {}),
    ...(flags.force ? { evictPodForce: true } : {}),
    ...(flags['drain-timeout'] ? { drainTimeoutSeconds: Math.round(flags['drain-timeout'] / 1000) } : {}),
  };
}
