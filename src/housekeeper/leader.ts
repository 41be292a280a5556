// Leader election through a coordination.k8s.io Lease, so that two operator pods (a rollout of the
// Deployment, a node that comes back) never hand out nodes at the same time. The holder renews the
// lease; another may take it over once the record has not changed for its duration, as measured on the
// observer's own clock (as client-go does): comparing the holder's renewTime with the local clock would
// make a node whose clock runs ahead take over a live leader. A leader that could not renew within the
// renew deadline stops acting, and a stopping leader releases the lease so its successor need not wait.
import { KubeStatusError, type HousekeeperKube, type LeaseObject } from './types.js';

export const LEASE_NAME = 'housekeeper-operator';

export interface LeaderOptions {
  kube: HousekeeperKube;
  namespace: string;
  identity: string;
  leaseDurationSeconds: number;
  /** How long after its last successful renewal a leader still acts; default 2/3 of the duration. */
  renewDeadlineSeconds?: number;
  now: () => Date;
}

function micro(date: Date): string {
  // MicroTime: RFC 3339 with microseconds.
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** What makes a lease record a new one: any renewal changes renewTime or the holder. */
const recordOf = (lease: LeaseObject) =>
  JSON.stringify([lease.spec.holderIdentity ?? '', lease.spec.renewTime ?? '', lease.spec.acquireTime ?? '']);

export class LeaderElector {
  private observed: string | undefined;
  private observedAt = 0;
  private renewedAt: number | undefined;

  constructor(private readonly options: LeaderOptions) {}

  /** One attempt to become or stay leader; true when this identity holds the lease and may act now. */
  async tryLead(): Promise<boolean> {
    const { kube, namespace, identity } = this.options;
    const now = this.options.now();
    try {
      const lease = await kube.getLease(namespace, LEASE_NAME);
      if (!lease) {
        await kube.createLease(namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: LEASE_NAME, namespace },
          spec: this.spec(now, 0, micro(now)),
        });
        return this.renewed(now);
      }
      const record = recordOf(lease);
      if (record !== this.observed) {
        this.observed = record;
        this.observedAt = now.getTime();
      }
      const holder = lease.spec.holderIdentity ?? '';
      const mine = holder === identity;
      const duration = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
      // Released (no holder), or unchanged for its whole duration by our own clock.
      const free = holder === '' || now.getTime() - this.observedAt > duration;
      if (!mine && !free) return this.lost();
      const transitions = (lease.spec.leaseTransitions ?? 0) + (mine ? 0 : 1);
      const acquired = (mine && lease.spec.acquireTime) || micro(now);
      await kube.updateLease(namespace, { ...lease, spec: this.spec(now, transitions, acquired) });
      return this.renewed(now);
    } catch (err) {
      // Someone else wrote the lease between our read and write: they lead this round.
      if (err instanceof KubeStatusError && err.status === 409) return this.lost();
      // No answer: still the leader only within the renew deadline of the last renewal.
      if (this.renewedAt !== undefined && now.getTime() - this.renewedAt > this.renewDeadlineMs())
        this.lost();
      throw err;
    }
  }

  /** Whether a leader may still act now: it renewed within the renew deadline. */
  leading(): boolean {
    return (
      this.renewedAt !== undefined && this.options.now().getTime() - this.renewedAt <= this.renewDeadlineMs()
    );
  }

  /** On shutdown: give the lease up (no holder, 1 s), so the next operator takes over at once. */
  async release(): Promise<void> {
    if (this.renewedAt === undefined) return;
    const { kube, namespace, identity } = this.options;
    this.renewedAt = undefined;
    const lease = await kube.getLease(namespace, LEASE_NAME);
    if (!lease || lease.spec.holderIdentity !== identity) return;
    const now = micro(this.options.now());
    await kube.updateLease(namespace, {
      ...lease,
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now },
    });
  }

  private spec(now: Date, transitions: number, acquired: string): LeaseObject['spec'] {
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.options.leaseDurationSeconds,
      acquireTime: acquired,
      renewTime: micro(now),
      leaseTransitions: transitions,
    };
  }

  private renewDeadlineMs(): number {
    return (this.options.renewDeadlineSeconds ?? (this.options.leaseDurationSeconds * 2) / 3) * 1000;
  }

  private renewed(now: Date): true {
    this.renewedAt = now.getTime();
    return true;
  }

  private lost(): false {
    this.renewedAt = undefined;
    return false;
  }
}
