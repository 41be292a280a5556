// The operator's planning alone, without an API server: one pass's pure work (Node views, the health
// gate over the pods, planRollout) over N synthetic nodes half way through an OS rollout (maxUnavailable
// 100), with two system-critical DaemonSet pods per node, timed over 60 passes; and the size of the
// Update status that pass writes. Usage: npm run build && node scripts/bench-housekeeper/plan.mjs [N...]
import { performance } from 'node:perf_hooks';
import { etcdProblem, unhealthyPods } from '../../dist/src/housekeeper/health.js';
import { nodeViewOf, planRollout } from '../../dist/src/housekeeper/planner.js';

const OLD = 'hub.example/nestos:old';
const NEW = 'hub.example/nestos:new';
const AT = '2026-12-07T00:00:00Z';
const update = {
  apiVersion: 'housekeeper.io/v1alpha1',
  kind: 'Update',
  metadata: { name: 'os-new', namespace: 'housekeeper-system', generation: 1, creationTimestamp: AT },
  spec: { osImageURL: NEW, maxUnavailable: 100 },
};
const key = 'housekeeper-system/os-new@1';

function world(count) {
  const nodes = Array.from({ length: count }, (_, i) => {
    const done = i < count / 2;
    const annotations = { 'housekeeper.io/os-image': done ? NEW : OLD };
    if (done) {
      const target = {
        key,
        osImageURL: NEW,
        firstControlPlane: false,
        evictPodForce: false,
        drainTimeoutSeconds: 300,
      };
      const progress = { key, phase: 'done', startedAt: AT, lastTransitionTime: AT, finishedAt: AT };
      annotations['housekeeper.io/target'] = JSON.stringify(target);
      annotations['housekeeper.io/progress'] = JSON.stringify(progress);
    }
    return {
      metadata: { name: `node-${String(i + 1).padStart(5, '0')}`, annotations },
      spec: {},
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.37.2' } },
    };
  });
  const pods = nodes.flatMap((n) =>
    ['kube-proxy', 'kube-flannel'].map((ds) => ({
      metadata: {
        name: `${ds}-${n.metadata.name}`,
        namespace: 'kube-system',
        ownerReferences: [{ kind: 'DaemonSet', name: ds, controller: true }],
      },
      spec: { nodeName: n.metadata.name, priorityClassName: 'system-node-critical' },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    })),
  );
  return { nodes, pods };
}

function pass({ nodes, pods }) {
  const views = nodes.map(nodeViewOf);
  const unhealthy = unhealthyPods(pods);
  const etcd = etcdProblem(pods, views.filter((v) => v.role === 'control-plane').length);
  return planRollout({
    update,
    nodes: views,
    kubeSystemHealthy: unhealthy.length === 0,
    unhealthyPods: unhealthy,
    ...(etcd ? { etcdProblem: etcd } : {}),
    now: new Date().toISOString(),
  });
}

for (const count of (process.argv.length > 2 ? process.argv.slice(2) : ['100', '1000', '5000']).map(Number)) {
  const w = world(count);
  const times = [];
  let decision;
  for (let i = 0; i < 60; i++) {
    const started = performance.now();
    decision = pass(w);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${count} nodes, ${w.pods.length} pods: planning median ${times[30].toFixed(1)} ms, ` +
      `max ${times.at(-1).toFixed(1)} ms; hands out ${decision.select.length}; ` +
      `status written ${Math.round(JSON.stringify(decision.status).length / 1024)} KiB`,
  );
}
