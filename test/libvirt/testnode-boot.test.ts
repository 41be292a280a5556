// A real first boot: `nkd deploy` (the real Pulumi engine, a real libvirtd in a network namespace, TCG)
// of a one-node cluster of the NestOS stand-in (docs/testnode.md). The guest boots from its own disk,
// Debian's Ignition applies what nkd rendered at first boot, and the checks look inside the running guest
// over SSH with the key the config names, comparing it with the Ignition config nkd wrote. No registry
// can be reached, so the bootstrap stops where kubeadm pulls the control-plane images.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  guestOverSsh,
  makeSshKey,
  readRenderedIgnition,
  type Guest,
  type RenderedIgnition,
} from '../helpers/guest.js';
import {
  realEngineRequirement,
  startRealEngineWorld,
  type RealEngineWorld,
} from '../helpers/libvirt-world.js';
import { allOf, toolEnv, toolRequirement } from '../helpers/tools.js';
import { describeReal } from '../helpers/real.js';

const CLUSTER = `nkdtn-${randomBytes(3).toString('hex')}`;
const NODE = `${CLUSTER}-cp-1`;
const BOOT_TIMEOUT = 15 * 60_000;

const requirement = allOf(realEngineRequirement, toolRequirement('NKD_TESTNODE_IMAGE'));

/** The Kubernetes version the image's kubeadm and kubelet are (written by scripts/testnode/build.sh). */
function imageKubernetesVersion(image: string): string {
  const file = join(dirname(image), 'kubernetes-version');
  if (!existsSync(file)) throw new Error(`${file} is missing: rebuild the image (npm run tools -- testnode)`);
  return readFileSync(file, 'utf8').trim();
}

/** The address nkd tells the kubelet to use (kubeletExtraArgs node-ip in /etc/nkd/kubeadm.yaml). */
function kubeletNodeIp(kubeadmYaml: string): string {
  for (const doc of parseAllDocuments(kubeadmYaml)) {
    const args = (doc.toJS() as { nodeRegistration?: { kubeletExtraArgs?: unknown } }).nodeRegistration
      ?.kubeletExtraArgs;
    if (Array.isArray(args)) {
      const found = (args as { name: string; value: string }[]).find((a) => a.name === 'node-ip');
      if (found) return found.value;
    } else if (args && typeof args === 'object' && 'node-ip' in args) {
      return String((args as Record<string, string>)['node-ip']);
    }
  }
  throw new Error('the rendered kubeadm config gives the kubelet no node-ip');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeReal('a real first boot of the NestOS stand-in through nkd deploy', requirement, () => {
  let w: RealEngineWorld;
  let rendered: RenderedIgnition;
  let guest: Guest;
  let publicKey = '';
  let privateKey = '';
  const timings: string[] = [];
  const started = Date.now();
  const mark = (what: string) => timings.push(`${what}: ${((Date.now() - started) / 1000).toFixed(0)} s`);

  beforeAll(async () => {
    w = await startRealEngineWorld(`nkd-testnode-${CLUSTER}`);
    const key = await makeSshKey(w.work);
    publicKey = key.publicKey;
    privateKey = key.privateKey;
    const image = toolEnv('NKD_TESTNODE_IMAGE')!;
    await w.writeConfig(CLUSTER, {
      workers: 0,
      keys: [publicKey],
      image,
      kubernetesVersion: imageKubernetesVersion(image),
    });
  }, 120_000);

  afterAll(async () => {
    console.log(`testnode boot figures (TCG, from the start of the test file):\n  ${timings.join('\n  ')}`);
    if (w) await w.close([CLUSTER]);
  }, 120_000);

  it(
    'nkd deploy provisions the node, which boots from its disk and answers SSH with the configured key',
    async () => {
      const r = await w.run(
        ['deploy', '-f', w.configFile(CLUSTER), '--yes', '--api-timeout', '20s'],
        'deploy',
      );
      // Provisioned; the API server cannot come up offline, so deploy ends with the timeout (exit 7).
      expect(r.exitCode, r.out).toBe(7);
      expect(r.out).toMatch(/timed out after 20s waiting for the API server/);
      mark('nkd deploy returned');
      rendered = readRenderedIgnition(join(w.work, `pool-${CLUSTER}`, `${NODE}.ign`));
      const user = rendered.users()[0]!.name;
      const address = kubeletNodeIp(rendered.file('/etc/nkd/kubeadm.yaml')!);
      guest = guestOverSsh(w.daemon, privateKey, user, address);
      await guest.waitForSsh(BOOT_TIMEOUT);
      mark('SSH answers');
    },
    BOOT_TIMEOUT + 300_000,
  );

  it('has the hostname, the admin user with its key and sudo, and the address nkd gave the kubelet', async () => {
    expect(`${(await guest.text('hostname')).trim()}\n`).toBe(rendered.file('/etc/hostname'));
    const user = rendered.users()[0]!;
    const groups = (await guest.text('id -nG')).trim().split(/\s+/);
    for (const g of user.groups ?? []) expect(groups).toContain(g);
    expect(await guest.text('cat ~/.ssh/authorized_keys.d/ignition')).toContain(publicKey);
    expect((await guest.text('sudo -n id -u')).trim()).toBe('0');
    expect(await guest.text('ip -4 -o addr show')).toContain(` ${guest.address}/`);
    expect(await guest.text('sudo -n cat /etc/nkd/kubeadm.yaml')).toBe(
      rendered.file('/etc/nkd/kubeadm.yaml'),
    );
  });

  it('loads the kernel modules and applies the sysctls nkd rendered; swap is off', async () => {
    const modules = rendered.file('/etc/modules-load.d/nkd-kubernetes.conf')!.split('\n').filter(Boolean);
    const loaded = await guest.text('cat /proc/modules');
    for (const m of modules) expect(loaded).toMatch(new RegExp(`^${m} `, 'm'));
    const sysctls = rendered.file('/etc/sysctl.d/90-nkd-kubernetes.conf')!.split('\n').filter(Boolean);
    expect(sysctls.length).toBeGreaterThan(0);
    for (const line of sysctls) {
      const [name, value] = line.split('=').map((s) => s.trim());
      const file = `/proc/sys/${name!.replace(/\./g, '/')}`;
      expect(`${name} = ${(await guest.text(`cat ${file}`)).trim()}`).toBe(`${name} = ${value}`);
    }
    expect((await guest.text('systemctl is-active nkd-swapoff.service')).trim()).toBe('active');
    expect((await guest.text('cat /proc/swaps')).trim().split('\n')).toHaveLength(1); // the header only
  });

  it('resolves through systemd-resolved with the DNS server DHCP gave; the CNI plugins are where containerd looks', async () => {
    expect((await guest.text('systemctl is-active systemd-resolved.service')).trim()).toBe('active');
    expect((await guest.text('readlink /etc/resolv.conf')).trim()).toMatch(/stub-resolv\.conf$/);
    // The kubelet (hence CoreDNS's upstream) reads this file: the real server, libvirt's dnsmasq on the
    // network's gateway address, not the 127.0.0.53 stub.
    const gateway = /default via (\S+)/.exec(await guest.text('ip -4 route show default'))?.[1];
    expect(gateway).toBeDefined();
    expect(await guest.text('cat /run/systemd/resolve/resolv.conf')).toMatch(
      new RegExp(`^nameserver ${gateway!.replace(/\./g, '\\.')}$`, 'm'),
    );
    // containerd's CRI plugin looks in /opt/cni/bin (its default bin_dir; nkd's config keeps it).
    for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap'])
      expect(`${plugin} ${(await guest.run(`test -x /opt/cni/bin/${plugin}`)).exitCode}`).toBe(`${plugin} 0`);
  });

  it('enables what the config enables and runs containerd with nkd’s configuration (crictl info)', async () => {
    for (const unit of rendered.enabledUnits())
      expect(`${unit} ${(await guest.run(`systemctl is-enabled ${unit}`)).stdout.trim()}`).toBe(
        `${unit} enabled`,
      );
    const toml = rendered.file('/etc/containerd/config.toml')!;
    expect(await guest.text('cat /etc/containerd/config.toml')).toBe(toml);
    expect((await guest.text('systemctl is-active containerd.service')).trim()).toBe('active');
    mark('containerd checked');
    const info = JSON.parse(await guest.text('sudo -n crictl info')) as {
      config: {
        sandboxImage: string;
        containerd: { runtimes: Record<string, { options?: Record<string, unknown> }> };
      };
      status: { conditions: { type: string; status: boolean }[] };
    };
    expect(info.config.sandboxImage).toBe(/sandbox_image = "([^"]+)"/.exec(toml)![1]);
    expect(info.config.containerd.runtimes.runc?.options?.SystemdCgroup).toBe(true);
    expect(info.status.conditions.find((c) => c.type === 'RuntimeReady')?.status).toBe(true);
  });

  it(
    'starts the bootstrap unit, whose kubeadm passes validation and preflight and stops at the image pull',
    async () => {
      // kubeadm pulls the images only after every other preflight check passed; offline the pull fails
      // and the unit retries. That pull is where this stand-in's first boot ends (no registry here).
      const deadline = Date.now() + 10 * 60_000;
      let journal = '';
      while (Date.now() < deadline) {
        journal = await guest.text('sudo -n journalctl -b 0 -u nkd-kubeadm.service --no-pager -o cat');
        // The pull failed, or the unit failed twice for another reason: either way, enough to judge.
        if (/\[ERROR ImagePull\]/.test(journal)) break;
        if ((journal.match(/Failed with result/g) ?? []).length >= 2) break;
        await sleep(10_000);
      }
      mark('bootstrap reached the image pull');
      expect(journal, journal).toMatch(/\[preflight\] Running pre-flight checks/);
      expect(journal, journal).toMatch(/\[ERROR ImagePull\]/);
      expect(journal, journal).not.toMatch(/\[ERROR (?!ImagePull)/);
    },
    11 * 60_000,
  );

  it('records first-boot figures from the guest’s own clock', async () => {
    const initrd = await guest.text(
      "sudo -n journalctl -b 0 -o short-monotonic --no-pager | grep -m1 -E 'Finished .*Ignition \\(files\\)|ignition-files.service: Deactivated' || true",
    );
    timings.push(`guest: Ignition files stage done: ${initrd.trim() || 'not found in the journal'}`);
    timings.push(`guest: ${(await guest.text('systemd-analyze || true')).split('\n')[0]}`);
    const containerd = (
      await guest.text('systemctl show -p ActiveEnterTimestampMonotonic --value containerd')
    ).trim();
    timings.push(
      `guest: containerd active ${(Number(containerd) / 1e6).toFixed(1)} s after the kernel started`,
    );
    expect(Number(containerd)).toBeGreaterThan(0);
    // Ignition ran in this boot's initramfs (its messages carry the identifier "ignition").
    expect(
      Number(await guest.text('sudo -n journalctl -q -b 0 -t ignition --no-pager | wc -l')),
    ).toBeGreaterThan(0);
  });

  it(
    'a second boot does not run Ignition again and keeps the machine’s identity',
    async () => {
      const machineId = (await guest.text('cat /etc/machine-id')).trim();
      expect(machineId).toMatch(/^[0-9a-f]{32}$/);
      const bootId = (await guest.text('cat /proc/sys/kernel/random/boot_id')).trim();
      await guest.run('sudo -n systemctl reboot');
      const deadline = Date.now() + BOOT_TIMEOUT;
      const rebootStarted = Date.now();
      let now = bootId;
      while (now === bootId && Date.now() < deadline) {
        await sleep(10_000);
        const r = await guest.run('cat /proc/sys/kernel/random/boot_id');
        if (r.exitCode === 0) now = r.stdout.trim();
      }
      expect(now).not.toBe(bootId);
      timings.push(`second boot: SSH again after ${((Date.now() - rebootStarted) / 1000).toFixed(0)} s`);
      expect(await guest.text('cat /proc/cmdline')).not.toMatch(/ignition\.firstboot/);
      expect((await guest.run('test -e /boot/ignition.firstboot')).exitCode).toBe(1);
      expect(await guest.text('sudo -n journalctl -q -b 0 -t ignition --no-pager')).toBe('');
      expect((await guest.text('cat /etc/machine-id')).trim()).toBe(machineId);
      expect((await guest.text('hostname')).trim()).toBe(NODE);
    },
    BOOT_TIMEOUT + 60_000,
  );
});
