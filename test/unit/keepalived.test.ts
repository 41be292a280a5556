// The keepalived API VIP as the planner and the renderer see it: the VIP is the endpoint and in the
// certificate, no node is planned on it, every control plane (and only they) gets the VRRP instance
// with the others as unicast peers, control plane 1 the highest priority, the password only 0600.
// The real keepalived runs these files in test/integration/keepalived-vip.test.ts.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openstackNodeNetwork } from '../../providers/openstack/addresses.js';
import { openstackConfigSchema } from '../../providers/openstack/config.js';
import { defaultVirtualRouterId } from '../../providers/vip.js';
import { parseClusterConfig } from '../../src/config/load.js';
import { diffPlans } from '../../src/plan/diff.js';
import { planCluster } from '../../src/plan/plan.js';
import { formatPlanSummary } from '../../src/plan/summary.js';
import type { IgnitionConfig } from '../../src/render/ignition-types.js';
import { vrrpInstance } from '../../src/render/keepalived.js';
import { renderCluster } from '../../src/render/node.js';
import { loadTemplates } from '../../src/render/templates.js';
import { configYaml, validConfig } from '../helpers/configs.js';
import { FAKE_PKI } from '../helpers/fake-pki.js';

const libvirt = (apiEndpoint: Record<string, unknown>, cidr = '192.168.132.0/24') => ({
  libvirt: { image: '/var/lib/libvirt/images/nestos.qcow2', network: { cidr }, apiEndpoint },
});
const vipPlan = (apiEndpoint: Record<string, unknown> = { type: 'vip' }) =>
  planCluster(validConfig({ platform: libvirt(apiEndpoint) }));
const errorsOf = (apiEndpoint: Record<string, unknown>) =>
  parseClusterConfig(configYaml({ platform: libvirt(apiEndpoint) }), 'c.yaml').errors.map(
    (e) => `${e.path}: ${e.message}`,
  );

function fileText(config: IgnitionConfig, path: string): { text: string; mode: number } | undefined {
  const file = config.storage?.files?.find((f) => f.path === path);
  if (file === undefined) return undefined;
  const body = Buffer.from(file.contents.source.replace(/^data:;base64,/, ''), 'base64').toString('utf8');
  return { text: body, mode: file.mode };
}

describe('an API VIP in the plan', () => {
  it('makes the last host address the endpoint, puts it in the SANs and plans no node there', () => {
    const plan = vipPlan();
    expect(plan.kubernetes.controlPlaneEndpoint).toEqual({ host: '192.168.132.254', port: 6443 });
    expect(plan.kubernetes.apiServerCertSANs).toContain('192.168.132.254');
    expect(plan.kubernetes.apiVip).toEqual({ address: '192.168.132.254', virtualRouterId: 254 });
    expect(plan.nodes.map((n) => n.address)).not.toContain('192.168.132.254');
  });

  it('takes a chosen address and router id, and refuses a node asking for the VIP', () => {
    const plan = vipPlan({ type: 'vip', address: '192.168.132.200', virtualRouterId: 7 });
    expect(plan.kubernetes.apiVip).toEqual({ address: '192.168.132.200', virtualRouterId: 7 });
    const parsed = parseClusterConfig(
      configYaml({
        platform: libvirt({ type: 'vip', address: '192.168.132.200' }),
        workers: { count: 1, hosts: [{ ip: '192.168.132.200' }] },
      }),
      'c.yaml',
    );
    expect(parsed.errors.map((e) => e.message).join('\n')).toMatch(/API VIP/);
  });

  it('says in the plan summary who holds the endpoint', () => {
    expect(formatPlanSummary(vipPlan())).toContain(
      'API endpoint https://192.168.132.254:6443 (VIP 192.168.132.254 held by keepalived, VRRP id 254)',
    );
    expect(formatPlanSummary(planCluster(validConfig()))).not.toContain('keepalived');
  });

  it('leaves clusters without a VIP as they were', () => {
    const plan = planCluster(validConfig());
    expect(plan.kubernetes.apiVip).toBeUndefined();
    expect(plan.kubernetes.controlPlaneEndpoint.host).toBe(plan.nodes[0]!.address);
  });

  it('refuses a VIP outside the node network, on the gateway, and VIP keys without a VIP', () => {
    expect(errorsOf({ type: 'vip', address: '10.0.0.5' })).toEqual([
      'spec.platform.libvirt.apiEndpoint.address: 10.0.0.5 is not a host address of network.cidr 192.168.132.0/24',
    ]);
    expect(errorsOf({ type: 'vip', address: '192.168.132.1' })).toEqual([
      'spec.platform.libvirt.apiEndpoint.address: 192.168.132.1 is the gateway',
    ]);
    expect(errorsOf({ virtualRouterId: 9 })).toEqual([
      'spec.platform.libvirt.apiEndpoint.virtualRouterId: is a VIP setting: it needs apiEndpoint.type vip',
    ]);
    expect(errorsOf({ type: 'vip', virtualRouterId: 0 }).join()).toMatch(/virtualRouterId/);
  });

  it('derives the router id from the last octet, within 1-254', () => {
    expect(defaultVirtualRouterId('10.0.0.127')).toBe(127);
    expect(defaultVirtualRouterId('10.0.1.0')).toBe(1);
    expect(defaultVirtualRouterId('10.0.0.255')).toBe(254);
  });

  it('on OpenStack reserves the VIP below the pool and marks it keepalived’s', () => {
    const config = openstackConfigSchema.parse({
      image: 'i',
      flavor: 'f',
      externalNetwork: 'public',
      apiEndpoint: { type: 'vip' },
    });
    const net = openstackNodeNetwork(config);
    expect(net.apiAddress).toBe('10.0.0.127');
    expect(net.apiVip).toEqual({ virtualRouterId: 127 });
    expect(net.reserved?.find((r) => r.first === '10.0.0.127')?.why).toBe('it is the API VIP');
  });
});

describe('the diff of a cluster with an API VIP', () => {
  const paths = (deployed: ReturnType<typeof vipPlan>, desired: ReturnType<typeof vipPlan>) =>
    diffPlans(deployed, desired).forbidden.map((f) => f.path);

  it('refuses a new router id: the deployed control planes keep the one they booted with', () => {
    expect(paths(vipPlan(), vipPlan({ type: 'vip', virtualRouterId: 9 }))).toEqual([
      'spec.platform.*.apiEndpoint (VIP)',
    ]);
  });

  it('refuses control planes added or removed (their unicast peers are fixed), not workers', () => {
    const three = vipPlan();
    const five = planCluster(validConfig({ platform: libvirt({ type: 'vip' }), controlPlane: { count: 5 } }));
    // (Workers planned after the control planes move too, which the diff refuses on its own.)
    expect(paths(three, five)).toContain('spec.controlPlane (with an API VIP)');
    const moreWorkers = planCluster(
      validConfig({ platform: libvirt({ type: 'vip' }), workers: { count: 4 } }),
    );
    expect(paths(three, moreWorkers)).toEqual([]);
  });

  it('leaves clusters without a VIP free to change their control planes', () => {
    const three = planCluster(validConfig());
    const five = planCluster(validConfig({ controlPlane: { count: 5 } }));
    expect(paths(three, five)).not.toContain('spec.controlPlane (with an API VIP)');
    expect(paths(three, five)).not.toContain('spec.platform.*.apiEndpoint (VIP)');
  });
});

describe('keepalived on the control planes', () => {
  const plan = vipPlan();
  const rendered = renderCluster({ plan, pki: FAKE_PKI, templates: loadTemplates() });
  const byName = new Map(rendered.map((r) => [r.node.name, r.ignition]));

  it('gives control plane n priority 200 - n and the other control planes as unicast peers', () => {
    const cps = plan.nodes.filter((n) => n.role === 'control-plane');
    const instances = cps.map((n) => vrrpInstance(plan, plan.kubernetes.apiVip!, n, 'Abcd1234'));
    expect(instances.map((i) => i.priority)).toEqual([199, 198, 197]);
    expect(instances[1]!.peers).toEqual([cps[0]!.address, cps[2]!.address]);
    expect(instances[1]!.sourceAddress).toBe(cps[1]!.address);
  });

  it('writes the config 0600 with the VIP, the password and the health check, and enables the unit', () => {
    const cp2 = plan.nodes.find((n) => n.role === 'control-plane' && n.index === 2)!;
    const ignition = byName.get(cp2.name)!;
    const conf = fileText(ignition, '/etc/keepalived/keepalived.conf')!;
    expect(conf.mode).toBe(0o600);
    expect(conf.text).toContain('auth_pass FakeVrrp');
    expect(conf.text).toContain('192.168.132.254/32 dev $NKD_INTERFACE');
    expect(conf.text).toContain('virtual_router_id 254');
    expect(conf.text).toContain('priority 198');
    expect(conf.text).toContain(`unicast_src_ip ${cp2.address}`);
    expect(conf.text).toContain('script "/usr/local/bin/nkd-apiserver-check"');
    const check = fileText(ignition, '/usr/local/bin/nkd-apiserver-check')!;
    expect(check.mode).toBe(0o755);
    expect(check.text).toContain(`https://${cp2.address}:6443/readyz`);
    expect(check.text).toContain('--cacert /etc/nkd/pki/ca.crt');
    expect(fileText(ignition, '/usr/local/bin/nkd-keepalived')?.mode).toBe(0o755);
    const unit = ignition.systemd?.units?.find((u) => u.name === 'nkd-keepalived.service');
    expect(unit?.enabled).toBe(true);
    expect(unit?.contents).toContain('ExecStart=/usr/local/bin/nkd-keepalived');
  });

  it('leaves out the unicast block for a single control plane (no peer to send to)', () => {
    const single = planCluster(
      validConfig({ platform: libvirt({ type: 'vip' }), controlPlane: { count: 1 }, workers: { count: 0 } }),
    );
    const [only] = renderCluster({ plan: single, pki: FAKE_PKI, templates: loadTemplates() });
    const conf = fileText(only!.ignition, '/etc/keepalived/keepalived.conf')!.text;
    expect(conf).not.toContain('unicast_peer');
    expect(conf).toContain('virtual_ipaddress');
  });

  it('renders shell scripts that bash parses', () => {
    const cp1 = byName.get(plan.nodes[0]!.name)!;
    for (const path of ['/usr/local/bin/nkd-keepalived', '/usr/local/bin/nkd-apiserver-check']) {
      const script = fileText(cp1, path)!.text;
      expect(script.startsWith('#!/bin/bash\n'), path).toBe(true);
      const syntax = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
      expect(syntax.status, `${path}: ${syntax.stderr}`).toBe(0);
    }
  });

  it('gives workers nothing of it, and clusters without a VIP neither', () => {
    const worker = plan.nodes.find((n) => n.role === 'worker')!;
    expect(fileText(byName.get(worker.name)!, '/etc/keepalived/keepalived.conf')).toBeUndefined();
    const plain = planCluster(validConfig());
    for (const r of renderCluster({ plan: plain, pki: FAKE_PKI, templates: loadTemplates() })) {
      expect(fileText(r.ignition, '/etc/keepalived/keepalived.conf')).toBeUndefined();
      expect(r.ignition.systemd?.units?.some((u) => u.name === 'nkd-keepalived.service')).toBe(false);
    }
  });

  it('refuses to render without a VRRP password (an older PKI read without deploy)', () => {
    expect(() =>
      renderCluster({ plan, pki: { ...FAKE_PKI, vrrpPassword: '' }, templates: loadTemplates() }),
    ).toThrow(/no VRRP password/);
  });
});
