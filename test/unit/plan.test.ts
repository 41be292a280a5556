import { describe, expect, it } from 'vitest';
import { planCluster } from '../../src/plan/plan.js';
import { formatPlanSummary } from '../../src/plan/summary.js';
import { validConfig } from '../helpers/configs.js';

describe('planCluster', () => {
  it('names nodes by role and allocates addresses in order, skipping network and gateway', () => {
    const plan = planCluster(validConfig());
    expect(plan.nodes.map((n) => [n.name, n.role, n.bootstrap, n.address])).toEqual([
      ['demo-cp-1', 'control-plane', 'init', '192.168.132.2'],
      ['demo-cp-2', 'control-plane', 'join-control-plane', '192.168.132.3'],
      ['demo-cp-3', 'control-plane', 'join-control-plane', '192.168.132.4'],
      ['demo-worker-1', 'worker', 'join', '192.168.132.5'],
      ['demo-worker-2', 'worker', 'join', '192.168.132.6'],
    ]);
  });

  it('defaults the API endpoint to the first control-plane address on port 6443', () => {
    const plan = planCluster(validConfig());
    expect(plan.kubernetes.controlPlaneEndpoint).toEqual({ host: '192.168.132.2', port: 6443 });
  });

  it('puts the endpoint name and every control-plane name and address in the API server SANs', () => {
    const plan = planCluster(validConfig({ kubernetes: { controlPlaneEndpoint: 'api.demo.example:443' } }));
    expect(plan.kubernetes.controlPlaneEndpoint).toEqual({ host: 'api.demo.example', port: 443 });
    expect(plan.kubernetes.apiServerCertSANs).toEqual(
      [
        '192.168.132.2',
        '192.168.132.3',
        '192.168.132.4',
        'api.demo.example',
        'demo-cp-1',
        'demo-cp-2',
        'demo-cp-3',
      ].sort(),
    );
  });

  it('honours fixed hosts and allocates the rest around them', () => {
    const plan = planCluster(
      validConfig({
        controlPlane: { count: 2, hosts: [{ hostname: 'k8s-master01', ip: '192.168.132.3' }] },
        workers: { count: 1 },
      }),
    );
    expect(plan.nodes.map((n) => `${n.name}=${n.address}`)).toEqual([
      'k8s-master01=192.168.132.3',
      'demo-cp-2=192.168.132.2',
      'demo-worker-1=192.168.132.4',
    ]);
  });

  it('honours a custom gateway', () => {
    const plan = planCluster(
      validConfig({
        platform: { libvirt: { image: '/i.qcow2', network: { cidr: '10.5.0.0/24', gateway: '10.5.0.2' } } },
      }),
    );
    expect(plan.network.gateway).toBe('10.5.0.2');
    expect(plan.nodes.map((n) => n.address).slice(0, 2)).toEqual(['10.5.0.1', '10.5.0.3']);
  });

  it('chooses the pause image kubeadm of each minor expects, and kubeadm API v1beta4 for all', () => {
    const pick = (version: string) => {
      const k8s = planCluster(validConfig({ version })).kubernetes;
      return [k8s.kubeadmApiVersion, k8s.pauseImage];
    };
    expect(pick('v1.35.4')).toEqual(['kubeadm.k8s.io/v1beta4', 'registry.k8s.io/pause:3.10.1']);
    expect(pick('v1.36.3')).toEqual(['kubeadm.k8s.io/v1beta4', 'registry.k8s.io/pause:3.10.2']);
    expect(pick('v1.37.2')).toEqual(['kubeadm.k8s.io/v1beta4', 'registry.k8s.io/pause:3.10.2']);
  });

  it('deploys Kubernetes up to v1.37 with the pause image each kubeadm minor pulls', () => {
    // kubeadm's PauseVersion: 3.10.1 in 1.34-1.35, 3.10.2 from 1.36 (k8s.io/kubernetes constants.go).
    const pause = (version: string) => planCluster(validConfig({ version })).kubernetes.pauseImage;
    expect(pause('v1.35.4')).toBe('registry.k8s.io/pause:3.10.1');
    expect(pause('v1.36.3')).toBe('registry.k8s.io/pause:3.10.2');
    expect(pause('v1.37.2')).toBe('registry.k8s.io/pause:3.10.2');
  });

  it('maps each runtime to its CRI socket', () => {
    const sockets = ['containerd', 'crio', 'isulad', 'docker'].map(
      (runtime) => planCluster(validConfig({ runtime })).runtime.criSocket,
    );
    expect(sockets).toEqual([
      'unix:///run/containerd/containerd.sock',
      'unix:///var/run/crio/crio.sock',
      'unix:///var/run/isulad.sock',
      'unix:///var/run/cri-dockerd.sock',
    ]);
  });

  it('is deterministic: the same config gives the same plan', () => {
    expect(JSON.stringify(planCluster(validConfig()))).toBe(JSON.stringify(planCluster(validConfig())));
  });

  it('plans 1000 nodes with unique names and addresses', () => {
    const plan = planCluster(
      validConfig({
        workers: { count: 997 },
        // Each node takes a /24 of podSubnet: 1000 nodes need a /14.
        kubernetes: { podSubnet: '10.64.0.0/14' },
        platform: { libvirt: { image: '/i.qcow2', network: { cidr: '10.20.0.0/16' } } },
      }),
    );
    expect(plan.nodes).toHaveLength(1000);
    expect(new Set(plan.nodes.map((n) => n.name)).size).toBe(1000);
    expect(new Set(plan.nodes.map((n) => n.address)).size).toBe(1000);
    expect(plan.nodes.at(-1)).toMatchObject({ name: 'demo-worker-997', address: '10.20.3.233' });
  });
});

describe('formatPlanSummary', () => {
  it('describes the cluster in cluster terms and lists each node', () => {
    const text = formatPlanSummary(planCluster(validConfig()));
    expect(text).toMatch(/Cluster demo on libvirt: 3 control-plane and 2 worker node\(s\)/);
    expect(text).toMatch(/demo-cp-1\s+192\.168\.132\.2\s+2\s+4096 MiB\s+50 GiB\s+kubeadm init/);
    expect(text).toMatch(/demo-worker-2 .*kubeadm join$/m);
  });

  it('shows no sizes on a platform whose flavor sizes the nodes (they are not used there)', () => {
    const text = formatPlanSummary(
      planCluster(
        validConfig({
          platform: { openstack: { image: 'nestos', flavor: 'm1.large', externalNetwork: 'public' } },
        }),
      ),
    );
    expect(text).toMatch(/^ROLE\s+NAME\s+ADDRESS\s+BOOTSTRAP$/m);
    expect(text).toMatch(/^control-plane\s+demo-cp-1\s+10\.0\.0\.2\s+kubeadm init$/m);
    expect(text).not.toMatch(/MiB|GiB/);
  });

  it('abbreviates large clusters and points at plan.json', () => {
    const text = formatPlanSummary(
      planCluster(
        validConfig({
          workers: { count: 50 },
          platform: { libvirt: { image: '/i.qcow2', network: { cidr: '10.20.0.0/16' } } },
        }),
      ),
    );
    expect(text).toMatch(/\.\.\. and 40 more worker node\(s\) \(see plan\.json\)/);
    expect(text.split('\n').filter((l) => l.startsWith('worker'))).toHaveLength(10);
  });
});
