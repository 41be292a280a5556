// The Housekeeper operator as its image runs it (the built dist/, nothing of the nkd CLI), in a process
// of its own so its memory is its own, authenticated with its service account's token. Reports one JSON
// line per pass on stdout: when it ended, how long it took, how long planning took (planRollout over
// the nodes and pods that pass read), and the process's RSS and heap.
// Env: NKD_BENCH_SERVER, NKD_BENCH_CA_FILE, NKD_BENCH_TOKEN_FILE, NKD_BENCH_TLS_NAME, NKD_BENCH_POLL_MS.
/* global AbortController */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { etcdProblem, unhealthyPods } from '../../dist/src/housekeeper/health.js';
import { housekeeperKube } from '../../dist/src/housekeeper/kube-client.js';
import { Operator } from '../../dist/src/housekeeper/operator.js';
import { nodeViewOf, planRollout } from '../../dist/src/housekeeper/planner.js';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const token = readFileSync(env('NKD_BENCH_TOKEN_FILE'), 'utf8').trim();
const kube = housekeeperKube({
  server: env('NKD_BENCH_SERVER'),
  caPem: readFileSync(env('NKD_BENCH_CA_FILE'), 'utf8'),
  auth: { bearerToken: () => token },
  tlsServerName: env('NKD_BENCH_TLS_NAME'),
});

// What the pass read, to time the planner on exactly that.
let seen = {};
const watched = new Proxy(kube, {
  get(target, key) {
    const value = target[key];
    if (typeof value !== 'function') return value;
    return async (...args) => {
      const result = await value.apply(target, args);
      if (key === 'listNodes' || key === 'listPods' || key === 'listUpdates') seen[key] = result;
      return result;
    };
  },
});

function timePlanning() {
  const { listNodes: nodes, listPods: pods, listUpdates: updates } = seen;
  if (!nodes || !pods || !updates) return undefined;
  const active = updates.find((u) => u.status?.phase !== 'Completed');
  if (!active) return undefined;
  const started = performance.now();
  const views = nodes.map(nodeViewOf);
  const unhealthy = unhealthyPods(pods);
  const etcd = etcdProblem(pods, views.filter((n) => n.role === 'control-plane').length);
  planRollout({
    update: active,
    nodes: views,
    kubeSystemHealthy: unhealthy.length === 0,
    unhealthyPods: unhealthy,
    ...(etcd ? { etcdProblem: etcd } : {}),
    now: new Date().toISOString(),
  });
  return performance.now() - started;
}

class MeasuredOperator extends Operator {
  async reconcileOnce() {
    seen = {};
    const started = performance.now();
    try {
      await super.reconcileOnce();
    } finally {
      const passMs = performance.now() - started;
      const planMs = timePlanning();
      const { rss, heapUsed } = process.memoryUsage();
      const line = { at: Date.now(), passMs, planMs, rss, heapUsed, nodes: seen.listNodes?.length };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
  }
}

const controller = new AbortController();
process.once('SIGTERM', () => controller.abort());
await new MeasuredOperator({
  kube: watched,
  namespace: 'housekeeper-system',
  identity: 'bench-operator',
  pollMs: Number(process.env.NKD_BENCH_POLL_MS ?? 5000),
  log: (line) => process.stderr.write(`${line}\n`),
}).run(controller.signal);
kube.close();
