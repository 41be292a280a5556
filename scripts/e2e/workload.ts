// The end-to-end run's workload: scripts/e2e/web (a tiny Go HTTP server) built here, pushed to the
// mirror with crane, and deployed on the worker. Asked through the API server's service proxy to
// resolve a cluster name, it proves the pod network across nodes, kube-proxy and CoreDNS together.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitDeploymentAvailable } from './checks.js';
import { waitFor } from './steps.js';
import { REPO, REGISTRY_PORT, type E2eWorld } from './world.js';

export const WORKLOAD_NAMESPACE = 'nkd-e2e';
const NAME = 'web';
const TAG = 'v1';

/** Builds the server, packs it as a one-layer linux/amd64 image and pushes it; returns the path under the mirror. */
export async function pushWorkloadImage(world: E2eWorld): Promise<string> {
  const dir = join(world.work, 'web');
  mkdirSync(join(dir, 'root'), { recursive: true });
  execFileSync('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', join(dir, 'root', 'web'), '.'], {
    cwd: join(REPO, 'scripts', 'e2e', 'web'),
    env: { ...process.env, CGO_ENABLED: '0', PATH: `/usr/local/go/bin:${process.env.PATH ?? ''}` },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const layer = join(dir, 'layer.tar');
  execFileSync('tar', [
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-C',
    join(dir, 'root'),
    '-cf',
    layer,
    '.',
  ]);
  const path = `k8s/nkd-e2e/${NAME}:${TAG}`;
  const ref = `127.0.0.1:${REGISTRY_PORT}/${path}`;
  for (const args of [
    ['append', '--insecure', '--oci-empty-base', '-f', layer, '-t', ref],
    ['mutate', '--insecure', ref, '--set-platform', 'linux/amd64', '--entrypoint', '/web', '-t', ref],
  ]) {
    const r = await world.exec('crane', world.tools.crane, args);
    if (r.exitCode !== 0) throw new Error(`crane ${args[0]}: ${r.out.trim().slice(-400)}`);
  }
  return path;
}

function manifest(image: string): string {
  const labels = { app: NAME };
  const objects = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: WORKLOAD_NAMESPACE } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, namespace: WORKLOAD_NAMESPACE, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: NAME,
                image,
                ports: [{ containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: NAME, namespace: WORKLOAD_NAMESPACE },
      spec: { selector: labels, ports: [{ name: 'http', port: 8080, targetPort: 8080 }] },
    },
  ];
  return objects.map((o) => JSON.stringify(o)).join('\n');
}

/** Deploys the workload from the mirror and waits until it runs; returns the node it runs on. */
export async function deployWorkload(world: E2eWorld, mirrorHost: string, path: string): Promise<string> {
  await world.kubectl(['apply', '-f', '-'], manifest(`${mirrorHost}/${path}`));
  await waitDeploymentAvailable(world, WORKLOAD_NAMESPACE, NAME);
  const pods = JSON.parse(
    await world.kubectl(['get', 'pods', '-n', WORKLOAD_NAMESPACE, '-l', `app=${NAME}`, '-o', 'json']),
  ) as { items: { spec: { nodeName: string } }[] };
  const node = pods.items[0]?.spec.nodeName;
  if (!node) throw new Error('the workload pod has no node');
  return node;
}

/**
 * The API server (on the control plane's host network) reaches the pod on the worker through flannel's
 * overlay; the pod resolves the kubernetes Service's name through CoreDNS. Returns the answer.
 */
export async function resolveThroughWorkload(world: E2eWorld, timeoutMs: number): Promise<string> {
  const expected = (
    await world.kubectl(['get', 'service', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}'])
  ).trim();
  const domain =
    (await world.kubectl(['get', 'configmap', '-n', 'kube-system', 'kubeadm-config', '-o', 'yaml'])).match(
      /dnsDomain: (\S+)/,
    )?.[1] ?? 'cluster.local';
  let answer = '';
  await waitFor('CoreDNS answers through the workload', timeoutMs, async () => {
    answer = (
      await world.kubectl([
        'get',
        '--raw',
        `/api/v1/namespaces/${WORKLOAD_NAMESPACE}/services/${NAME}:http/proxy/resolve?name=kubernetes.default.svc.${domain}`,
      ])
    ).trim();
    return answer.split(' ').includes(expected) ? undefined : `answered "${answer}", expected ${expected}`;
  });
  return answer;
}
