/**
 * Every Kubernetes API call the Housekeeper operator and agent make is allowed by the RBAC nkd renders for
 * them. Nothing here is a hand list of calls: the client methods each role uses are read from its source
 * (every `kube.<method>(` in the files its entry point reaches), and the request each method sends is
 * recorded from the real client (src/housekeeper/kube-client.ts) over a recording client (src/kube/client.ts). Only the
 * arguments are chosen here, one representative set per method.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const sent: { method: string; path: string }[] = [];
vi.mock('../../src/kube/client.js', () => ({
  kubeClient: () => ({
    server: 'https://recorder.invalid',
    async call(method: string, path: string) {
      sent.push({ method, path });
      const { requestAttributes: attributes } = await import('../helpers/rbac.js');
      if (path === '/version') return { gitVersion: 'v1.30.4' };
      return attributes(method, path).verb === 'list'
        ? { items: [], metadata: {} }
        : { metadata: { name: 'x' } };
    },
    close() {},
  }),
}));

const { housekeeperKube } = await import('../../src/housekeeper/kube-client.js');
const { housekeeperManifests, HOUSEKEEPER_NAMESPACE } =
  await import('../../src/addons/housekeeper/manifests.js');
const { rbacAllows, requestAttributes } = await import('../helpers/rbac.js');

const SRC = resolve(import.meta.dirname, '../../src/housekeeper');

/**
 * Files reachable from `entry` through relative imports inside src/housekeeper. main.ts serves both roles
 * and loads each one's code lazily: its own calls count for both, its imports are each role's entry.
 */
function reachable(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !file.startsWith(SRC)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('/main.ts')) return;
    for (const m of text.matchAll(/(?:from|import\()\s*'(\.[^']+)\.js'/g))
      visit(join(dirname(file), `${m[1]}.ts`));
  };
  visit(join(SRC, entry));
  return [...seen];
}

/** The HousekeeperKube methods called in those files (`kube.x(`, `this.kube.x(`, `ctx.kube.x(`, ...). */
function calledMethods(files: string[]): string[] {
  const client = housekeeperKube({ server: 'https://x', caPem: '', auth: { bearerToken: () => 't' } });
  const api = new Set(Object.keys(client).filter((name) => name !== 'close'));
  const methods = new Set<string>();
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bkube\.(\w+)\(/g)) {
      if (api.has(m[1]!)) methods.add(m[1]!);
    }
  }
  return [...methods].sort();
}

const NS = HOUSEKEEPER_NAMESPACE;
const lease = { metadata: { name: 'housekeeper-operator', resourceVersion: '1' }, spec: {} };
/** Representative arguments: pods anywhere, Updates and leases in Housekeeper's namespace (POD_NAMESPACE). */
const ARGUMENTS: Record<string, unknown[][]> = {
  serverVersion: [[]],
  createEvent: [
    [NS, { metadata: { generateName: 'to-1.31.' }, involvedObject: { kind: 'Update', name: 'to-1.31' } }],
    ['default', { metadata: { generateName: 'node-a.' }, involvedObject: { kind: 'Node', name: 'node-a' } }],
  ],
  getNode: [['node-a']],
  listNodes: [[]],
  patchNode: [['node-a', { metadata: { annotations: {} } }]],
  listPods: [[{ nodeName: 'node-a' }], [{ namespace: 'kube-system' }], [{}]],
  evictPod: [['team-a', 'web-1']],
  deletePod: [['team-a', 'web-1']],
  listPodDisruptionBudgets: [['team-a'], []],
  listUpdates: [[NS]],
  getUpdate: [[NS, 'to-1.31']],
  patchUpdateStatus: [[NS, 'to-1.31', {}]],
  getLease: [[NS, 'housekeeper-operator']],
  createLease: [[NS, lease]],
  updateLease: [[NS, lease]],
};

async function requestsOf(method: string): Promise<{ method: string; path: string }[]> {
  const kube = housekeeperKube({
    server: 'https://x',
    caPem: '',
    auth: { bearerToken: () => 't' },
  }) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const calls = ARGUMENTS[method];
  if (!calls) throw new Error(`no representative arguments for ${method}: add them to ARGUMENTS`);
  sent.length = 0;
  for (const args of calls) await kube[method]!(...args);
  return [...sent];
}

const manifests = housekeeperManifests({ image: 'hub.example/nkd-housekeeper:test', nkdVersion: '0.1.0' });

describe.each([
  { role: 'agent', entries: ['agent/agent.ts', 'main.ts'], account: 'housekeeper-agent' },
  { role: 'operator', entries: ['operator.ts', 'main.ts'], account: 'housekeeper-operator' },
])('the $role', ({ entries, account }) => {
  const methods = calledMethods(entries.flatMap(reachable));

  it('is found to call the API through its client (the source scan works)', () => {
    expect(methods.length).toBeGreaterThan(2);
    expect(methods).toContain('listNodes'); // main.ts: readiness
  });

  it.each(methods)('may make every request of %s', async (method) => {
    const requests = await requestsOf(method);
    expect(requests.length).toBeGreaterThan(0);
    const denied = requests
      .map((r) => ({ ...r, attributes: requestAttributes(r.method, r.path) }))
      .filter((r) => !rbacAllows(manifests, { namespace: NS, name: account }, r.attributes))
      .map((r) => `${r.method} ${r.path.split('?')[0]} (${r.attributes.verb})`);
    expect(denied).toEqual([]);
  });
});

describe('the RBAC check itself', () => {
  it('refuses what no rule grants (nodes delete, secrets, Updates elsewhere)', () => {
    const agent = { namespace: NS, name: 'housekeeper-agent' };
    const operator = { namespace: NS, name: 'housekeeper-operator' };
    expect(rbacAllows(manifests, agent, requestAttributes('DELETE', '/api/v1/nodes/a'))).toBe(false);
    expect(rbacAllows(manifests, operator, requestAttributes('GET', '/api/v1/namespaces/x/secrets'))).toBe(
      false,
    );
    const elsewhere = '/apis/housekeeper.io/v1alpha1/namespaces/default/updates';
    expect(rbacAllows(manifests, operator, requestAttributes('GET', elsewhere))).toBe(false);
    const otherLease = '/apis/coordination.k8s.io/v1/namespaces/housekeeper-system/leases/other';
    expect(rbacAllows(manifests, operator, requestAttributes('PUT', otherLease))).toBe(false);
    expect(
      rbacAllows(manifests, operator, requestAttributes('GET', `${elsewhere.replace('default', NS)}`)),
    ).toBe(true);
  });
});
