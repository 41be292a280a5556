import { describe, expect, it } from 'vitest';
import { libvirtConfigSchema } from '../../providers/libvirt/config.js';
import { domainTypeChecks, isLocalUri } from '../../providers/libvirt/descriptor.js';
import { libvirtResources } from '../../providers/libvirt/resources.js';
import { planCluster } from '../../src/plan/plan.js';
import { validConfig } from '../helpers/configs.js';

const parse = (o: Record<string, unknown>) =>
  libvirtConfigSchema.parse({ image: '/images/nestos.qcow2', ...o });

describe('libvirt domainType', () => {
  it('defaults to kvm and accepts qemu (TCG) for hosts without usable KVM', () => {
    expect(parse({}).domainType).toBe('kvm');
    expect(parse({ domainType: 'qemu' }).domainType).toBe('qemu');
    expect(() => parse({ domainType: 'xen' })).toThrow();
  });

  it('refuses kvm on this machine without a KVM device, naming the key and the way out', () => {
    const problems = domainTypeChecks(parse({}), '/nonexistent/kvm');
    expect(problems).toEqual([expect.objectContaining({ path: ['domainType'], severity: 'error' })]);
    expect(problems[0]!.message).toMatch(/\/nonexistent\/kvm.*domainType: qemu/);
  });

  it('does not judge a remote host by this machine, nor qemu guests at all', () => {
    expect(domainTypeChecks(parse({ uri: 'qemu+ssh://ops@kvm1/system' }), '/nonexistent/kvm')).toEqual([]);
    expect(domainTypeChecks(parse({ domainType: 'qemu' }), '/nonexistent/kvm')).toEqual([]);
    expect(isLocalUri('qemu:///system')).toBe(true);
    expect(isLocalUri('qemu:///session')).toBe(true);
    expect(isLocalUri('qemu+tcp://host/system')).toBe(false);
  });

  it('puts the domain type into every domain', () => {
    const plan = planCluster(validConfig({ controlPlane: { count: 1 }, workers: { count: 1 } }));
    const res = libvirtResources({
      plan,
      platform: { uri: 'qemu:///system', image: '/i.qcow2' },
      rendered: plan.nodes.map((n) => ({ node: n, ignitionText: '{}' })),
      domainType: 'qemu',
    });
    expect(res.nodes.map((n) => n.domain.type)).toEqual(['qemu', 'qemu']);
  });
});
