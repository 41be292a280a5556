import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { planCluster } from '../../src/plan/plan.js';
import { kubeadmDocuments, serializeKubeadm } from '../../src/render/kubeadm.js';
import { validConfig, type ConfigOverrides } from '../helpers/configs.js';

const SECRETS = { bootstrapToken: 'abcdef.0123456789abcdef', caCertHash: `sha256:${'cd'.repeat(32)}` };

// Parsed YAML is untyped; tests navigate it freely and assert on values.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

function docsFor(overrides: ConfigOverrides, nodeName: string): Doc[] {
  const plan = planCluster(validConfig(overrides));
  const node = plan.nodes.find((n) => n.name === nodeName)!;
  const text = serializeKubeadm(kubeadmDocuments(plan, node, SECRETS));
  return parseAllDocuments(text).map((d) => d.toJS());
}

describe('kubeadm configuration', () => {
  it('gives kubeadm no document without a kind: the header comment shares the first document', () => {
    // kubeadm cuts the file at `---` lines and decodes every piece; a piece holding only comments has
    // no kind, and `kubeadm config validate` fails on the node (seen on a real first boot).
    const plan = planCluster(validConfig({}));
    for (const node of plan.nodes) {
      const text = serializeKubeadm(kubeadmDocuments(plan, node, SECRETS));
      const pieces = text.split(/^---[ \t]*$/m);
      for (const piece of pieces) expect(piece, text).toMatch(/^kind: \S+$/m);
      expect(text.startsWith('# Rendered by nkd.')).toBe(true);
    }
  });

  it.each(['v1.35.4', 'v1.36.3', 'v1.37.2'])(
    'gives %s the v1beta4 API every supported kubeadm reads: argument lists, timeouts, encryptionAlgorithm',
    (version) => {
      const init = docsFor({ version }, 'demo-cp-1');
      expect(init.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual([
        'kubeadm.k8s.io/v1beta4 InitConfiguration',
        'kubeadm.k8s.io/v1beta4 ClusterConfiguration',
        'kubelet.config.k8s.io/v1beta1 KubeletConfiguration',
      ]);
      expect(init[0]!.bootstrapTokens[0]).toMatchObject({
        token: SECRETS.bootstrapToken,
        usages: ['signing', 'authentication'],
      });
      expect(init[0]!.nodeRegistration.kubeletExtraArgs).toEqual([
        { name: 'node-ip', value: '192.168.132.2' },
      ]);
      expect(init[0]!.timeouts).toEqual({ controlPlaneComponentHealthCheck: '10m0s' });
      expect(init[1]!.kubernetesVersion).toBe(version);
      expect(init[1]!.encryptionAlgorithm).toBe('RSA-2048');
      expect(init[1]!.apiServer).not.toHaveProperty('timeoutForControlPlane');
      const join = docsFor({ version }, 'demo-worker-1');
      expect(join[0]!.apiVersion).toBe('kubeadm.k8s.io/v1beta4');
      expect(join[0]!.timeouts).toEqual({ discovery: '5m0s' });
      expect(join[0]!.discovery).not.toHaveProperty('timeout');
    },
  );

  it('joins workers with the token and CA hash, never skipping CA verification', () => {
    const [join] = docsFor({}, 'demo-worker-2');
    expect(join!.kind).toBe('JoinConfiguration');
    expect(join!.discovery.bootstrapToken).toEqual({
      apiServerEndpoint: '192.168.132.2:6443',
      token: SECRETS.bootstrapToken,
      caCertHashes: [SECRETS.caCertHash],
    });
    expect(JSON.stringify(join)).not.toMatch(/unsafeSkipCAVerification/);
    expect(join).not.toHaveProperty('controlPlane');
    expect(join!.nodeRegistration).not.toHaveProperty('taints');
  });

  it('joins further control-plane nodes with their own advertise address and no certificate key', () => {
    const [join] = docsFor({}, 'demo-cp-3');
    expect(join!.controlPlane).toEqual({
      localAPIEndpoint: { advertiseAddress: '192.168.132.4', bindPort: 6443 },
    });
    expect(JSON.stringify(join)).not.toMatch(/certificateKey/);
  });

  it('keeps the control-plane taint only when the cluster has workers', () => {
    expect(docsFor({}, 'demo-cp-1')[0]!.nodeRegistration.taints).toEqual([
      { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
    ]);
    expect(docsFor({ workers: { count: 0 } }, 'demo-cp-1')[0]!.nodeRegistration.taints).toEqual([]);
  });

  it('points every node at the configured endpoint and covers it in the certificate', () => {
    const docs = docsFor({ kubernetes: { controlPlaneEndpoint: 'api.example:6443' } }, 'demo-cp-1');
    expect(docs[1]!.controlPlaneEndpoint).toBe('api.example:6443');
    expect(docs[1]!.apiServer.certSANs).toContain('api.example');
    expect(
      docsFor({ kubernetes: { controlPlaneEndpoint: 'api.example:6443' } }, 'demo-worker-1')[0]!.discovery
        .bootstrapToken.apiServerEndpoint,
    ).toBe('api.example:6443');
  });

  describe('probeTolerance (slow machines)', () => {
    const tolerant = { workers: { count: 1 }, kubernetes: { probeTolerance: 3 } };

    it('leaves patches out and keeps the timeouts at 1, the default', () => {
      const [init] = docsFor({}, 'demo-cp-1');
      expect(init).not.toHaveProperty('patches');
      expect(init!.timeouts).toEqual({ controlPlaneComponentHealthCheck: '10m0s' });
      expect(docsFor({}, 'demo-cp-2')[0]!.timeouts).toEqual({ discovery: '5m0s' });
    });

    it('points control planes at the patches and scales their waits', () => {
      const [init] = docsFor(tolerant, 'demo-cp-1');
      expect(init!.patches).toEqual({ directory: '/etc/nkd/kubeadm-patches' });
      expect(init!.timeouts).toEqual({
        controlPlaneComponentHealthCheck: '30m0s',
        kubernetesAPICall: '3m0s',
        kubeletHealthCheck: '12m0s',
      });
      const [join] = docsFor(tolerant, 'demo-cp-2');
      expect(join!.patches).toEqual({ directory: '/etc/nkd/kubeadm-patches' });
      expect(join!.timeouts).toEqual({
        discovery: '5m0s',
        controlPlaneComponentHealthCheck: '30m0s',
        kubernetesAPICall: '3m0s',
        kubeletHealthCheck: '12m0s',
        tlsBootstrap: '15m0s',
      });
    });

    it('lengthens the controller manager and scheduler leader election by the same factor', () => {
      const cluster = (overrides: ConfigOverrides) =>
        docsFor(overrides, 'demo-cp-1').find((d) => d.kind === 'ClusterConfiguration')!;
      const expected = [
        { name: 'leader-elect-lease-duration', value: '45s' },
        { name: 'leader-elect-renew-deadline', value: '30s' },
        { name: 'leader-elect-retry-period', value: '6s' },
      ];
      expect(cluster(tolerant).controllerManager).toEqual({ extraArgs: expected });
      expect(cluster(tolerant).scheduler).toEqual({ extraArgs: expected });
      const plain = cluster({});
      expect(plain).not.toHaveProperty('controllerManager');
      expect(plain).not.toHaveProperty('scheduler');
    });

    it('gives workers (no static pods) only the longer API calls, kubelet check and TLS bootstrap', () => {
      const [join] = docsFor(tolerant, 'demo-worker-1');
      expect(join).not.toHaveProperty('patches');
      expect(join!.timeouts).toEqual({
        discovery: '5m0s',
        kubernetesAPICall: '3m0s',
        kubeletHealthCheck: '12m0s',
        tlsBootstrap: '15m0s',
      });
    });

    it('is refused outside 1-10 and when not a whole number', () => {
      for (const probeTolerance of [0, 11, 1.5]) {
        expect(() => validConfig({ kubernetes: { probeTolerance } })).toThrow(/probeTolerance/);
      }
    });
  });
});
