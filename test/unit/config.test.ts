import { describe, expect, it } from 'vitest';
import { formatProblem, parseClusterConfig } from '../../src/config/load.js';
import { configYaml, validConfig } from '../helpers/configs.js';

describe('parseClusterConfig', () => {
  it('fills every optional key with its documented default', () => {
    const text = `apiVersion: nkd.nestos.io/v1alpha1
kind: Cluster
metadata:
  name: tiny
spec:
  platform:
    libvirt:
      image: /img/nestos.qcow2
`;
    const { config, errors } = parseClusterConfig(text, 'tiny.yaml');
    expect(errors).toEqual([]);
    expect(config?.spec.kubernetes).toEqual({
      version: 'v1.37.2',
      controlPlaneEndpoint: '',
      imageRepository: 'registry.k8s.io',
      podSubnet: '10.244.0.0/16',
      serviceSubnet: '10.96.0.0/16',
      dnsDomain: 'cluster.local',
    });
    expect(config?.spec.runtime).toBe('containerd');
    expect(config?.spec.network.plugin).toBe('calico');
    expect(config?.spec.controlPlane).toEqual({ count: 1, cpus: 4, memoryMiB: 8192, diskGiB: 50, hosts: [] });
    expect(config?.spec.workers.count).toBe(1);
    expect(config?.spec.access.user).toBe('nest');
    expect(config?.spec.housekeeper.enabled).toBe(true);
    expect(config?.spec.platform.libvirt).toEqual({
      uri: 'qemu:///system',
      image: '/img/nestos.qcow2',
      network: { cidr: '192.168.132.0/24' },
      apiEndpoint: { type: 'first-control-plane' },
      domainType: 'kvm',
    });
  });

  it('reports an unknown key at the key itself with a suggestion', () => {
    const text = configYaml().replace('workers:', 'worker:');
    const { errors } = parseClusterConfig(text, 'c.yaml');
    const line = text.split('\n').findIndex((l) => l.includes('worker:')) + 1;
    expect(errors.map(formatProblem)).toContain(
      `c.yaml:${line}:3: spec.worker: unknown key "worker" (did you mean "workers"?)`,
    );
  });

  it('reports every schema problem in one pass, ordered by line', () => {
    const text = configYaml({ runtime: 'rkt', name: 'Bad_Name', controlPlane: { count: 0 } });
    const { errors } = parseClusterConfig(text, 'c.yaml');
    expect(errors.map((e) => e.path)).toEqual(
      expect.arrayContaining(['metadata.name', 'spec.runtime', 'spec.controlPlane.count']),
    );
    const lines = errors.map((e) => e.line);
    expect([...lines].sort((a, b) => a - b)).toEqual(lines);
  });

  it('refuses inline secrets with a pointer to where they belong', () => {
    const text = configYaml({
      platform: { openstack: { image: 'img', flavor: 'f', externalNetwork: 'public', password: 'hunter2' } },
    });
    const { errors, config } = parseClusterConfig(text, 'c.yaml');
    expect(config).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('spec.platform.openstack.password');
    expect(errors[0]!.message).toMatch(/clouds\.yaml/);
  });

  it('says "is required" for a missing key and points at its parent', () => {
    const text = configYaml({ platform: { libvirt: { network: { cidr: '192.168.1.0/24' } } } });
    const { errors } = parseClusterConfig(text, 'c.yaml');
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toContain(
      'spec.platform.libvirt.image: is required',
    );
  });

  it('reports YAML syntax errors with their position', () => {
    const { errors } = parseClusterConfig('metadata:\n  name: [unclosed\n', 'c.yaml');
    expect(errors[0]).toMatchObject({ path: '(yaml)', line: expect.any(Number) });
  });

  it('warns, without failing, about 2 control-plane nodes and a missing SSH key', () => {
    const text = configYaml({ controlPlane: { count: 2 }, sshAuthorizedKeys: [] });
    const { config, errors, warnings } = parseClusterConfig(text, 'c.yaml');
    expect(errors).toEqual([]);
    expect(config).toBeDefined();
    expect(warnings.map((w) => w.path)).toEqual(
      expect.arrayContaining(['spec.controlPlane.count', 'spec.access']),
    );
  });

  it('accepts a per-role OpenStack flavor and an existing network name', () => {
    const config = validConfig({
      platform: {
        openstack: {
          image: 'nestos',
          flavor: { controlPlane: 'm1.large', workers: 'm1.medium' },
          network: { name: 'net', cidr: '10.1.0.0/24' },
        },
      },
    });
    expect(config.spec.platform.openstack?.flavor).toEqual({
      controlPlane: 'm1.large',
      workers: 'm1.medium',
    });
  });

  it('finds the gateway among fixed host addresses', () => {
    const text = configYaml({ controlPlane: { hosts: [{ ip: '192.168.132.1' }] } });
    const { errors } = parseClusterConfig(text, 'c.yaml');
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'spec.controlPlane.hosts[0].ip: 192.168.132.1 cannot be a node address: it is the gateway',
    ]);
  });

  it('reports a generated name that collides with a fixed hostname', () => {
    const text = configYaml({ workers: { hosts: [{ hostname: 'demo-cp-2' }] } });
    const { errors } = parseClusterConfig(text, 'c.yaml');
    expect(errors.map((e) => e.path)).toEqual(['spec.workers.hosts[0].hostname']);
    expect(errors[0]!.message).toMatch(/already used by generated controlPlane node 2/);
  });
});

describe('parseClusterConfig with schema and cross-field mistakes together', () => {
  it('reports both kinds in one run, without repeating a key', () => {
    const text = configYaml({
      runtime: 'rkt',
      controlPlane: { count: 1, hosts: [{ ip: '192.168.132.9' }] },
      workers: { count: 1, hosts: [{ ip: '192.168.132.9' }] },
    });
    const { errors } = parseClusterConfig(text, 'c.yaml');
    expect(errors.map((e) => e.path)).toEqual(['spec.runtime', 'spec.workers.hosts[0].ip']);
  });

  it('skips cross-field checks that depend on a missing required key', () => {
    const text = configYaml({ platform: { libvirt: { network: { cidr: '192.168.132.0/24' } } } });
    const { errors } = parseClusterConfig(text, 'c.yaml');
    expect(errors.map((e) => e.path)).toEqual(['spec.platform.libvirt.image']);
  });
});
