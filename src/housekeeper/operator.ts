// The Housekeeper operator: while it leads, it reconciles every Update against the nodes. It decides
// nothing itself: planner.ts turns (Update, nodes, kube-system health) into the nodes to hand out and
// the status to write; this loop only reads, writes the target annotations and the status, and repeats.
// Everything it needs is in the API, so a restarted operator continues exactly where it was.
import { isDeepStrictEqual } from 'node:util';
import { eventRecorder, type Recorder } from './events.js';
import { etcdProblem, unhealthyPods } from './health.js';
import { LeaderElector } from './leader.js';
import { nodeViewOf, planRollout } from './planner.js';
import { TARGET_ANNOTATION, type HousekeeperKube, type UpdateObject, type UpdateStatus } from './types.js';

export interface OperatorOptions {
  kube: HousekeeperKube;
  namespace: string;
  /** This pod's name: the lease holder identity. */
  identity: string;
  now?: () => Date;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  log?: (line: string) => void;
  pollMs?: number;
  leaseDurationSeconds?: number;
}

function byAge(a: UpdateObject, b: UpdateObject): number {
  const at = (u: UpdateObject) => u.metadata.creationTimestamp ?? '';
  return at(a).localeCompare(at(b)) || a.metadata.name.localeCompare(b.metadata.name);
}

export class Operator {
  private readonly now: () => Date;
  private readonly log: (line: string) => void;
  private readonly events: Recorder;

  constructor(private readonly options: OperatorOptions) {
    this.now = options.now ?? (() => new Date());
    this.log = options.log ?? (() => {});
    this.events = eventRecorder(options.kube, this.now, this.log);
  }

  /** One reconciliation of every Update; the caller must hold the lease. */
  async reconcileOnce(): Promise<void> {
    const { kube, namespace } = this.options;
    const updates = (await kube.listUpdates(namespace)).sort(byAge);
    // One rollout at a time: the oldest unfinished Update drives the nodes, later ones wait their turn.
    const active = updates.find(
      (u) => u.status?.phase !== 'Completed' || u.status.observedGeneration !== (u.metadata.generation ?? 0),
    );
    // Idle (no Update, or every one Completed for its generation): nothing to plan or write, so nodes and
    // pods are not read. An idle operator costs one small list per pass whatever the cluster's size.
    if (!active) return;
    const nodes = (await kube.listNodes()).map(nodeViewOf);
    const pods = await kube.listPods({});
    const unhealthy = unhealthyPods(pods);
    const etcd = etcdProblem(pods, nodes.filter((n) => n.role === 'control-plane').length);
    const now = this.now().toISOString();
    for (const update of updates) {
      if (update === active) {
        const decision = planRollout({
          update,
          nodes,
          kubeSystemHealthy: unhealthy.length === 0,
          unhealthyPods: unhealthy,
          ...(etcd ? { etcdProblem: etcd } : {}),
          now,
        });
        for (const { node, target } of decision.select) {
          this.log(`${update.metadata.name}: handing ${node} to its agent (${JSON.stringify(target)})`);
          await kube.patchNode(node, {
            metadata: { annotations: { [TARGET_ANNOTATION]: JSON.stringify(target) } },
          });
          const what = [
            target.osImageURL && `OS ${target.osImageURL}`,
            target.kubeVersion && `Kubernetes ${target.kubeVersion}`,
          ]
            .filter(Boolean)
            .join(', ');
          await this.events.update(
            update,
            'Normal',
            'NodeHandedOut',
            `node ${node} handed to its agent: ${what}`,
          );
          await this.events.node(
            node,
            'HousekeeperUpgrade',
            `Update ${update.metadata.namespace}/${update.metadata.name}: upgrading to ${what}`,
          );
        }
        if (unhealthy.length > 0) this.log(`system pods not healthy: ${unhealthy.slice(0, 5).join(', ')}`);
        await this.writeStatus(update, decision.status);
      } else if (update.status?.phase !== 'Completed') {
        await this.writeStatus(update, this.queued(update, active, now));
      }
    }
  }

  private queued(update: UpdateObject, active: UpdateObject, now: string): UpdateStatus {
    const previous = update.status?.conditions?.find((c) => c.type === 'Progressing');
    const message = `waiting for Update ${active.metadata.name} to complete first`;
    return {
      ...update.status,
      observedGeneration: update.metadata.generation ?? 0,
      phase: 'Pending',
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'Queued',
          message,
          lastTransitionTime:
            previous?.status === 'False' && previous.reason === 'Queued' ? previous.lastTransitionTime : now,
        },
      ],
    };
  }

  private async writeStatus(update: UpdateObject, status: UpdateStatus): Promise<void> {
    if (isDeepStrictEqual(update.status ?? {}, status)) return;
    await this.options.kube.patchUpdateStatus(update.metadata.namespace, update.metadata.name, status);
    if (update.status?.phase !== status.phase && status.phase) {
      this.log(`${update.metadata.name}: ${status.phase}`);
      const progressing = status.conditions?.find((c) => c.type === 'Progressing');
      const type = status.phase === 'Failed' ? 'Warning' : 'Normal';
      await this.events.update(update, type, status.phase, progressing?.message ?? status.phase);
    }
  }

  /** Leads (or waits to lead) and reconciles every pollMs until the signal aborts. Never throws. */
  async run(signal: AbortSignal): Promise<void> {
    const pollMs = this.options.pollMs ?? 5000;
    const sleep =
      this.options.sleep ??
      ((ms: number, s: AbortSignal) =>
        new Promise<void>((resolve) => {
          // The listener goes when the timer fires: one per pass would pile up on a long-lived signal.
          const done = () => {
            clearTimeout(timer);
            s.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, ms);
          s.addEventListener('abort', done, { once: true });
        }));
    const elector = new LeaderElector({
      kube: this.options.kube,
      namespace: this.options.namespace,
      identity: this.options.identity,
      leaseDurationSeconds: this.options.leaseDurationSeconds ?? 30,
      now: this.now,
    });
    let leading = false;
    while (!signal.aborted) {
      let lead: boolean;
      try {
        lead = await elector.tryLead();
      } catch (err) {
        // The renewal got no answer: still leading until the renew deadline of the last one passes.
        lead = elector.leading();
        this.log(`could not renew the lease: ${err instanceof Error ? err.message : String(err)}`);
      }
      try {
        if (lead) await this.reconcileOnce();
      } catch (err) {
        this.log(`reconcile failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (lead !== leading) this.log(lead ? 'leading' : 'not leading: another operator holds the lease');
      leading = lead;
      await sleep(pollMs, signal);
    }
    // Stopping (SIGTERM): hand the lease back so the next operator need not wait out its duration.
    await elector.release().catch((err: unknown) => {
      this.log(`could not release the lease: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
}
