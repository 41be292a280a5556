import { clusterNameArg } from '../cli/args.js';
import { NkdCommand } from '../cli/base.js';
import { durationFlag } from '../cli/duration.js';
import { withInterrupt } from '../cli/interrupt.js';
import { createReporter } from '../cli/reporters/index.js';
import { waitForApiServer, waitForNodesReady } from '../cluster/waits.js';
import { clusterPaths } from '../state/paths.js';
import { adminClientFor, provisionedClusterAccess } from '../workflows/cluster-access.js';
import { readDeployState } from '../workflows/deploy-state.js';

export default class Wait extends NkdCommand {
  static override summary = "Wait again for a deployed cluster's API server and nodes, from its state alone.";
  static override description = [
    'Resumes the waits of a deploy that timed out: the API server /readyz (verified against the cluster CA), then every planned node registered and Ready (registered only when the cluster has no network plugin). States each deadline, reports changes, and on timeout lists what was seen, with the consoles to look at.',
    'To continue the whole deploy (add-ons, Housekeeper, post-deploy manifests) run `nkd deploy -f <config>` again: it resumes from the first unfinished phase.',
    'Exit codes: 0 ready, 4 no such cluster state, 7 a wait timed out, 130 interrupted.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> wait demo',
    '<%= config.bin %> wait demo --nodes-timeout 1h',
    '<%= config.bin %> wait demo --json',
  ];
  static override enableJsonFlag = true;
  static override args = { name: clusterNameArg({ required: true }) };
  static override flags = {
    'api-timeout': durationFlag({ description: 'How long to wait for the API server', default: '20m' }),
    'nodes-timeout': durationFlag({ description: 'How long to wait for every node', default: '30m' }),
  };

  protected static override streamsJsonLines = true;

  async run(): Promise<object> {
    const { args, flags } = await this.parse(Wait);
    const paths = clusterPaths(this.stateDir(flags), args.name);
    const access = await provisionedClusterAccess(paths);
    this.debugLog.attachToCluster(paths.logs);
    const { plan, pki, target } = access;
    const reporter = createReporter({ json: this.jsonEnabled(), log: this.debugLog });
    const client = adminClientFor(pki, target);
    const info = (message: string) => reporter.emit({ type: 'info', message });
    const state = readDeployState(paths.root);
    const consoles = (access.outputs.nodes ?? [])
      .filter((n) => n.consoleLog)
      .map((n) => `serial console of ${n.name}: ${n.consoleLog}`);
    const fetched = Object.keys(state.ignitionFetched);
    const diagnose = () => [
      ...(fetched.length > 0 ? [`fetched their Ignition config: ${fetched.join(', ')}`] : []),
      ...consoles,
    ];
    try {
      const nodes = await withInterrupt(async (signal) => {
        await waitForApiServer(client, {
          timeoutMs: flags['api-timeout'],
          signal,
          onProgress: (line) => info(line),
          diagnose,
        });
        const requireReady = plan.network.plugin !== 'none';
        return waitForNodesReady(
          client,
          plan.nodes.map((n) => n.name),
          {
            timeoutMs: flags['nodes-timeout'],
            requireReady,
            signal,
            onProgress: (line, event) => {
              const role =
                plan.nodes.find((n) => 'node' in event && n.name === event.node.name)?.role ?? 'worker';
              if (event.type === 'node-joined' || event.type === 'node-ready') {
                reporter.emit({
                  type: 'node',
                  node: event.node.name,
                  role,
                  state: event.type === 'node-joined' ? 'joined' : 'ready',
                  message: line,
                });
              } else info(line);
            },
            diagnose,
          },
        );
      });
      reporter.close();
      if (!this.jsonEnabled())
        this.out(
          `Cluster ${args.name}: API server ready, ${nodes.length} node(s) ${plan.network.plugin === 'none' ? 'registered' : 'Ready'}.`,
        );
      return { type: 'result', cluster: args.name, apiServer: target.server, nodes };
    } finally {
      reporter.close();
      client.close();
    }
  }
}
