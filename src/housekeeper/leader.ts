// Leader election through a coordination.k8s.io Lease, so that two operator pods (a rollout of the
// Deployment, a node that comes back) never hand out nodes at the same time. The holder renews the
// lease; anyone may take it over once it has not been renewed for its duration.
import { KubeStatusError, type HousekeeperKube, type LeaseObject } from './types.js';

export const LEASE_NAME = 'housekeeper-operator';

export interface LeaderOptions {
  kube: HousekeeperKube;
  namespace: string;
  identity: string;
  leaseDurationSeconds: number;
  now: () => Date;
}

function micro(date: Date): string {
  // MicroTime: RFC 3339 with microseconds.
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function expired(lease: LeaseObject, now: Date): boolean {
  const renewed = lease.spec.renewTime ?? lease.spec.acquireTime;
  if (!renewed) return true;
  const duration = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
  return Date.parse(renewed) + duration < now.getTime();
}

/** One attempt to become or stay leader; true when this identity holds the lease afterwards. */
export async function tryLead(options: LeaderOptions): Promise<boolean> {
  const { kube, namespace, identity } = options;
  const now = options.now();
  try {
    const lease = await kube.getLease(namespace, LEASE_NAME);
    if (!lease) {
      await kube.createLease(namespace, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: LEASE_NAME, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: options.leaseDurationSeconds,
          acquireTime: micro(now),
          renewTime: micro(now),
          leaseTransitions: 0,
        },
      });
      return true;
    }
    const mine = lease.spec.holderIdentity === identity;
    if (!mine && !expired(lease, now)) return false;
    await kube.updateLease(namespace, {
      ...lease,
      spec: {
        ...lease.spec,
        holderIdentity: identity,
        leaseDurationSeconds: options.leaseDurationSeconds,
        renewTime: micro(now),
        ...(mine
          ? {}
          : { acquireTime: micro(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 }),
      },
    });
    return true;
  } catch (err) {
    // Someone else wrote the lease between our read and write: they lead this round.
    if (err instanceof KubeStatusError && err.status === 409) return false;
    throw err;
  }
}
