// Workload readiness (the controllers' semantics) and the rollout wait, with an injected clock and
// sleep so that a 15-minute wait runs instantly.
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { KubeApiError } from '../../src/kube/errors.js';
import type { KubeObject, WorkloadRef } from '../../src/cluster/types.js';
import { WaitTimeoutError } from '../../src/cluster/wait.js';
import {
  waitForWorkloads,
  workloadPath,
  workloadReadiness,
  workloadsOf,
  type WorkloadWaitEvent,
} from '../../src/cluster/workloads.js';

function fakeClock(start = new Date(2025, 5, 3, 14, 12, 0).getTime()) {
  let t = start;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
  };
}

function deployment(
  status: Record<string, unknown>,
  extra: { generation?: number; replicas?: number } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', namespace: 'ns', generation: extra.generation ?? 1 },
    spec: extra.replicas === undefined ? {} : { replicas: extra.replicas },
    status,
  };
}

function daemonSet(status: Record<string, unknown>, spec: Record<string, unknown> = {}) {
  return { kind: 'DaemonSet', metadata: { name: 'ds', generation: 3 }, spec, status };
}

describe('workloadsOf', () => {
  it('picks apps/v1 Deployments and DaemonSets in order, defaulting the namespace', () => {
    const objects: KubeObject[] = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } },
      {
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'calico-node', namespace: 'kube-system' },
      },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } },
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' } },
      { apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'not-apps' } },
    ];
    expect(workloadsOf(objects)).toEqual([
      { kind: 'DaemonSet', namespace: 'kube-system', name: 'calico-node' },
      { kind: 'Deployment', namespace: 'default', name: 'web' },
    ]);
    expect(workloadPath({ kind: 'DaemonSet', namespace: 'kube-system', name: 'calico-node' })).toBe(
      '/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node',
    );
  });
});

describe('workloadReadiness: Deployment', () => {
  it('is ready with every replica updated and available (spec.replicas defaults to 1)', () => {
    expect(
      workloadReadiness(
        'Deployment',
        deployment({ observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }),
      ),
    ).toEqual({ ready: true, summary: '1/1 available' });
    expect(
      workloadReadiness(
        'Deployment',
        deployment(
          { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 },
          { generation: 2, replicas: 3 },
        ),
      ),
    ).toEqual({ ready: true, summary: '3/3 available' });
  });

  it('is not ready before the controller observed the current generation, whatever the counts', () => {
    const r = workloadReadiness(
      'Deployment',
      deployment(
        { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
        { generation: 2 },
      ),
    );
    expect(r).toEqual({
      ready: false,
      summary: 'the Deployment controller has not observed generation 2 yet (generation 1)',
    });
    expect(workloadReadiness('Deployment', deployment({})).summary).toBe(
      'the Deployment controller has not observed generation 1 yet (none yet)',
    );
  });

  it('counts left out by the API are 0', () => {
    expect(
      workloadReadiness('Deployment', deployment({ observedGeneration: 1, replicas: 1, updatedReplicas: 1 })),
    ).toEqual({
      ready: false,
      summary: '0/1 available',
    });
  });

  it('waits for updated replicas and for old ones to go', () => {
    expect(
      workloadReadiness(
        'Deployment',
        deployment(
          { observedGeneration: 1, replicas: 3, updatedReplicas: 1, availableReplicas: 2 },
          { replicas: 2 },
        ),
      ),
    ).toEqual({ ready: false, summary: '2/2 available; 1/2 updated; 2 old replicas pending termination' });
    expect(
      workloadReadiness(
        'Deployment',
        deployment({ observedGeneration: 1, replicas: 2, updatedReplicas: 1, availableReplicas: 1 }),
      ),
    ).toEqual({ ready: false, summary: '1/1 available; 1 old replica pending termination' });
  });

  it('is not ready past its progress deadline, and says so', () => {
    const r = workloadReadiness(
      'Deployment',
      deployment({
        observedGeneration: 1,
        replicas: 1,
        updatedReplicas: 1,
        unavailableReplicas: 1,
        conditions: [
          { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable' },
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "d-5d4f8c" has timed out progressing.',
          },
        ],
      }),
    );
    expect(r).toEqual({
      ready: false,
      summary: '0/1 available; progress deadline exceeded: ReplicaSet "d-5d4f8c" has timed out progressing.',
    });
  });

  it('a Deployment scaled to 0 is ready once observed', () => {
    expect(workloadReadiness('Deployment', deployment({ observedGeneration: 1 }, { replicas: 0 }))).toEqual({
      ready: true,
      summary: '0/0 available',
    });
  });
});

describe('workloadReadiness: DaemonSet', () => {
  const full = {
    observedGeneration: 3,
    desiredNumberScheduled: 3,
    numberAvailable: 3,
    updatedNumberScheduled: 3,
  };

  it('is ready with every desired pod updated and available', () => {
    expect(workloadReadiness('DaemonSet', daemonSet(full))).toEqual({
      ready: true,
      summary: '3/3 available',
    });
  });

  it('is not ready one pod short, or with pods of an older template', () => {
    expect(workloadReadiness('DaemonSet', daemonSet({ ...full, numberAvailable: 2 }))).toEqual({
      ready: false,
      summary: '2/3 available',
    });
    expect(workloadReadiness('DaemonSet', daemonSet({ ...full, updatedNumberScheduled: 1 }))).toEqual({
      ready: false,
      summary: '3/3 available; 1/3 updated',
    });
    // OnDelete: old pods are replaced by hand, so "updated" is not waited for.
    expect(
      workloadReadiness(
        'DaemonSet',
        daemonSet({ ...full, updatedNumberScheduled: 1 }, { updateStrategy: { type: 'OnDelete' } }),
      ),
    ).toEqual({ ready: true, summary: '3/3 available' });
  });

  it('0 desired: ready once the controller observed it (no node can run it), never before', () => {
    const none = {
      observedGeneration: 3,
      desiredNumberScheduled: 0,
      numberAvailable: 0,
      updatedNumberScheduled: 0,
    };
    expect(workloadReadiness('DaemonSet', daemonSet(none))).toEqual({
      ready: true,
      summary: '0/0 available (no node can run it)',
    });
    expect(workloadReadiness('DaemonSet', daemonSet({ ...none, observedGeneration: 2 })).ready).toBe(false);
    expect(workloadReadiness('DaemonSet', daemonSet({})).ready).toBe(false);
  });
});

describe('waitForWorkloads', () => {
  const refs: WorkloadRef[] = [
    { kind: 'DaemonSet', namespace: 'kube-system', name: 'calico-node' },
    { kind: 'Deployment', namespace: 'kube-system', name: 'calico-kube-controllers' },
  ];
  const dsStatus = (available: number) => ({
    observedGeneration: 1,
    desiredNumberScheduled: 3,
    numberAvailable: available,
    updatedNumberScheduled: 3,
  });
  const ds = (available: number) => ({ metadata: { generation: 1 }, status: dsStatus(available) });
  const dep = (available: number) => ({
    metadata: { generation: 1 },
    spec: { replicas: 1 },
    status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: available },
  });

  /** A client whose answers per path follow a script; the last answer repeats. */
  function scriptedClient(script: Record<string, (Record<string, unknown> | undefined | Error)[]>) {
    const calls: string[] = [];
    const seen = new Map<string, number>();
    return {
      calls,
      getObject: async (path: string) => {
        calls.push(path);
        const answers = script[path] ?? [undefined];
        const i = seen.get(path) ?? 0;
        seen.set(path, i + 1);
        const answer = answers[Math.min(i, answers.length - 1)];
        if (answer instanceof Error) throw answer;
        return answer;
      },
    };
  }
  const DS = '/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node';
  const DEP = '/apis/apps/v1/namespaces/kube-system/deployments/calico-kube-controllers';

  it('states its deadline, reports only changes and each workload once, and resolves when all rolled out', async () => {
    const clock = fakeClock();
    const client = scriptedClient({
      [DS]: [undefined, ds(1), ds(1), ds(2), ds(3), ds(2)],
      [DEP]: [dep(0), dep(0), dep(1)],
    });
    const lines: string[] = [];
    const events: WorkloadWaitEvent[] = [];
    const result = await waitForWorkloads(client, refs, {
      what: 'the network plugin to roll out',
      timeoutMs: 60_000,
      now: clock.now,
      sleep: clock.sleep,
      onProgress: (line, event) => {
        lines.push(line);
        events.push(event);
      },
    });
    expect(result.map((s) => [s.ref.name, s.ready, s.summary])).toEqual([
      ['calico-node', true, '3/3 available'],
      ['calico-kube-controllers', true, '1/1 available'],
    ]);
    expect(lines).toEqual([
      'waiting up to 1m (until 14:13:00) for the network plugin to roll out',
      'still waiting for the network plugin to roll out: 0/2 rolled out; kube-system/DaemonSet/calico-node: not found, kube-system/Deployment/calico-kube-controllers: 0/1 available',
      'still waiting for the network plugin to roll out: 0/2 rolled out; kube-system/DaemonSet/calico-node: 1/3 available, kube-system/Deployment/calico-kube-controllers: 0/1 available',
      'kube-system/Deployment/calico-kube-controllers rolled out (1/1 available)',
      'still waiting for the network plugin to roll out: 1/2 rolled out; kube-system/DaemonSet/calico-node: 1/3 available',
      'still waiting for the network plugin to roll out: 1/2 rolled out; kube-system/DaemonSet/calico-node: 2/3 available',
      'kube-system/DaemonSet/calico-node rolled out (3/3 available)',
      'done waiting for the network plugin to roll out (15s)',
    ]);
    expect(events.filter((e) => e.type === 'workload-ready')).toHaveLength(2);
    expect(clock.sleeps).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('times out with exit 7, each workload last summary and the last API error in the details', async () => {
    const clock = fakeClock();
    const client = scriptedClient({
      [DS]: [
        ds(2),
        new KubeApiError('HTTP 500 from GET ...: etcdserver: leader changed', 'http', 500),
        ds(2),
      ],
      [DEP]: [dep(1)],
    });
    const err = (await waitForWorkloads(client, refs, {
      timeoutMs: 10 * 60_000,
      now: clock.now,
      sleep: clock.sleep,
      diagnose: () => ['see the console logs'],
    }).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err.exitCode).toBe(ExitCode.WaitTimeout);
    expect(err.message).toBe(
      'timed out after 10m waiting for 2 workloads to roll out (deadline 14:22); last status: 1/2 rolled out; kube-system/DaemonSet/calico-node: 2/3 available',
    );
    expect(err.details).toEqual([
      'kube-system/DaemonSet/calico-node: 2/3 available',
      'kube-system/Deployment/calico-kube-controllers: 1/1 available',
      'last API error (14:12:01): HTTP 500 from GET ...: etcdserver: leader changed',
      'see the console logs',
    ]);
    // Backoff capped at 15 s, and the last pause shortened to end at the deadline.
    expect(Math.max(...clock.sleeps)).toBe(15_000);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(10 * 60_000);
  });

  it('a workload never read is named as such', async () => {
    const clock = fakeClock();
    const client = scriptedClient({
      [DS]: [new KubeApiError('https://x: connection refused (ECONNREFUSED)', 'connection')],
    });
    const err = (await waitForWorkloads(client, refs.slice(0, 1), {
      timeoutMs: 5_000,
      now: clock.now,
      sleep: clock.sleep,
    }).catch((e: unknown) => e)) as WaitTimeoutError;
    expect(err.exitCode).toBe(7);
    expect(err.message).toContain('waiting for 1 workload to roll out');
    expect(err.details).toEqual([
      'kube-system/DaemonSet/calico-node: never read',
      'last API error (14:12:05): https://x: connection refused (ECONNREFUSED)',
    ]);
  });
});
