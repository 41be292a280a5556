/**
 * Starts a real libvirtd (and virtlogd) for the integration tests and the end-to-end harness, without systemd, as
 * shared/notes/libvirt.md describes: as root, with the directories, the `libvirt-qemu` user and a
 * qemu.conf that runs QEMU as root with no security driver, inside a network namespace of its own.
 * `stop()` ends only the daemons this helper started (by pid), what is left in their namespace, and
 * the namespace.
 *
 * Found while writing it: libvirtd 9.0 also looks up the *group* `libvirt-qemu` at start ("Failed to
 * parse group 'libvirt-qemu'"), so that group is created too.
 */
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';

export const LIBVIRT_URI = 'qemu:///system';

const BINARIES = [
  '/usr/sbin/libvirtd',
  '/usr/sbin/virtlogd',
  '/usr/bin/virsh',
  '/usr/bin/qemu-img',
  '/usr/bin/qemu-system-x86_64',
];
const QEMU_CONF = '/etc/libvirt/qemu.conf';
const QEMU_CONF_TEXT = `# Written by nkd's test helper (test/helpers/libvirtd.ts) for a daemon without systemd.
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
`;
const PID_FILES = { virtlogd: '/var/run/virtlogd.pid', libvirtd: '/var/run/libvirtd.pid' } as const;

const isRoot = () => process.getuid?.() === 0;

/** libvirt, QEMU and qemu-img are installed and we are root: enough for a daemon and TCG guests. */
export function libvirtDaemonAvailable(): boolean {
  return isRoot() && BINARIES.every((b) => existsSync(b));
}

/** For describeReal: root and the Debian packages a namespaced libvirtd with TCG guests needs. */
export const libvirtRequirement = {
  missing: () =>
    libvirtDaemonAvailable()
      ? undefined
      : `needs root and ${BINARIES.join(', ')} (Debian: libvirt-daemon-driver-qemu, libvirt-clients, qemu-system-x86, qemu-utils)`,
};

/** `virt-xml-validate` and the `xmllint` it runs (Debian: libvirt-clients, libxml2-utils). */
export function xmlValidatorAvailable(): boolean {
  return existsSync('/usr/bin/virt-xml-validate') && existsSync('/usr/bin/xmllint');
}

export interface LibvirtDaemon {
  uri: string;
  /** The network namespace libvirtd (and so every bridge, dnsmasq and guest) lives in. */
  netnsPath: string;
  /** Pids of the daemons this helper started (empty when a namespaced libvirtd was already running). */
  startedPids: number[];
  /** Runs a command inside the daemon's network namespace (where the guests are reachable). */
  inNetns(file: string, args: readonly string[]): { file: string; args: string[] };
  stop(): Promise<void>;
}

async function answers(): Promise<boolean> {
  const r = await execa('virsh', ['-c', LIBVIRT_URI, 'version'], { reject: false, timeout: 10_000 });
  return r.exitCode === 0;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pidFrom(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function prepareHost(): Promise<void> {
  // /var/log/libvirt/qemu holds the domains' console logs; a fresh machine may lack it (virsh start fails).
  for (const dir of ['/var/log/libvirt/qemu', '/var/run/libvirt', '/var/lib/libvirt/qemu', '/etc/libvirt']) {
    mkdirSync(dir, { recursive: true });
  }
  await execa('groupadd', ['-f', 'kvm']);
  await execa('groupadd', ['-f', 'libvirt-qemu']);
  const user = await execa('getent', ['passwd', 'libvirt-qemu'], { reject: false });
  if (user.exitCode !== 0) await execa('useradd', ['-r', '-g', 'kvm', 'libvirt-qemu']);
  // A qemu.conf someone else wrote is left alone; only a missing one (fresh Debian) is created.
  if (!existsSync(QEMU_CONF)) writeFileSync(QEMU_CONF, QEMU_CONF_TEXT);
}

/** The network namespace a process lives in, as the kernel names it (e.g. "net:[4026531840]"). */
function netnsOf(pid: number | 'self'): string {
  return readlinkSync(`/proc/${pid}/ns/net`);
}

/** Starts `daemon -d` inside the namespace; returns its pid. */
async function startDaemon(netns: string, daemon: keyof typeof PID_FILES): Promise<number> {
  await execa('ip', ['netns', 'exec', netns, `/usr/sbin/${daemon}`, '-d']);
  for (let i = 0; i < 100; i++) {
    const pid = pidFrom(PID_FILES[daemon]);
    if (pid !== undefined) return pid;
    await sleep(100);
  }
  throw new Error(`${daemon} -d did not write ${PID_FILES[daemon]}`);
}

async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function runIn(netnsPath: string) {
  return (file: string, args: readonly string[]) => ({
    file: 'nsenter',
    args: [`--net=${netnsPath}`, '--', file, ...args],
  });
}

/**
 * A libvirtd living in a network namespace of the test run's own (shared/notes/libvirt.md): bridges,
 * dnsmasq, NAT rules and guests never touch the host's network. Only one libvirtd can own /run/libvirt,
 * so a namespaced daemon that is already running (another test file of the same run) is reused as it
 * is; one running in the host's own namespace is refused rather than used.
 */
export async function startLibvirtd(timeoutMs = 30_000): Promise<LibvirtDaemon> {
  const running = pidFrom(PID_FILES.libvirtd);
  if (running !== undefined && (await answers())) {
    if (netnsOf(running) === netnsOf('self')) {
      throw new Error(
        `a libvirtd (pid ${running}) runs in this host's network namespace; tests create libvirt ` +
          'networks and guests only inside a namespace of their own: stop it first',
      );
    }
    const netnsPath = `/proc/${running}/ns/net`;
    return { uri: LIBVIRT_URI, netnsPath, startedPids: [], inNetns: runIn(netnsPath), stop: async () => {} };
  }
  const netns = `nkd-test-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const started: number[] = [];
  const stop = async () => {
    // Guests and dnsmasq outlive libvirtd: end every process left in our namespace, then the namespace.
    const pids = (await execa('ip', ['netns', 'pids', netns], { reject: false })).stdout;
    for (const pid of [...started].reverse()) await stopPid(pid);
    for (const pid of pids
      .split('\n')
      .map(Number)
      .filter((p) => p > 0))
      await stopPid(pid);
    started.length = 0;
    await execa('ip', ['netns', 'delete', netns], { reject: false });
  };
  try {
    await prepareHost();
    await execa('ip', ['netns', 'add', netns]);
    await execa('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
    for (const name of ['virtlogd', 'libvirtd'] as const) started.push(await startDaemon(netns, name));
    const deadline = Date.now() + timeoutMs;
    while (!(await answers())) {
      if (Date.now() > deadline) {
        const log = existsSync('/var/log/libvirt/libvirtd.log')
          ? readFileSync('/var/log/libvirt/libvirtd.log', 'utf8')
          : '';
        throw new Error(`libvirtd did not answer within ${timeoutMs} ms; log tail:\n${log.slice(-2000)}`);
      }
      await sleep(250);
    }
    const netnsPath = `/run/netns/${netns}`;
    return { uri: LIBVIRT_URI, netnsPath, startedPids: started, inNetns: runIn(netnsPath), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `virsh -q -c uri ...args` stdout; throws with virsh's stderr on failure. */
export async function virshText(uri: string, args: readonly string[]): Promise<string> {
  const r = await execa('virsh', ['-q', '-c', uri, ...args], { reject: false });
  if (r.exitCode !== 0) throw new Error(`virsh ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function names(uri: string, args: readonly string[], marker: string): Promise<string[]> {
  const r = await execa('virsh', ['-q', '-c', uri, ...args], { reject: false });
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes(marker));
}

/**
 * Best-effort removal of every domain, network and pool (with its volumes) whose name contains
 * `marker`: a test's afterAll calls it so a failed run leaves nothing behind.
 */
export async function cleanupLibvirtObjects(uri: string, marker: string): Promise<void> {
  const v = (...args: string[]) => execa('virsh', ['-q', '-c', uri, ...args], { reject: false });
  for (const d of await names(uri, ['list', '--all', '--name'], marker)) {
    await v('destroy', d);
    await v('undefine', d);
  }
  for (const n of await names(uri, ['net-list', '--all', '--name'], marker)) {
    await v('net-destroy', n);
    await v('net-undefine', n);
  }
  for (const p of await names(uri, ['pool-list', '--all', '--name'], '')) {
    if (!p.includes(marker)) continue;
    await v('pool-start', p);
    const vols = (await v('vol-list', '--pool', p)).stdout.split('\n');
    for (const line of vols) {
      const name = line.trim().split(/\s+/)[0];
      if (name) await v('vol-delete', '--pool', p, name);
    }
    await v('pool-destroy', p);
    await v('pool-delete', p);
    await v('pool-undefine', p);
  }
}

/**
 * A /24 in 10.213.0.0/16 that no host route and no libvirt network uses, so parallel or leftover runs
 * cannot clash.
 */
export async function freeTestCidr(uri: string): Promise<string> {
  const routes = existsSync('/proc/net/route') ? readFileSync('/proc/net/route', 'utf8') : '';
  const used = new Set<number>();
  for (const line of routes.split('\n').slice(1)) {
    const dest = line.split('\t')[1];
    if (!dest || dest.length !== 8) continue;
    const bytes = Buffer.from(dest, 'hex'); // little-endian: 10.213.x.0 is 00 x d5 0a
    if (bytes[0] === 10 && bytes[1] === 213) used.add(bytes[2]!);
  }
  for (const net of await names(uri, ['net-list', '--all', '--name'], '')) {
    const xml = (await execa('virsh', ['-c', uri, 'net-dumpxml', net], { reject: false })).stdout;
    for (const m of xml.matchAll(/address='10\.213\.(\d+)\./g)) used.add(Number(m[1]));
  }
  const start = Math.floor(Math.random() * 256);
  for (let i = 0; i < 256; i++) {
    const x = (start + i) % 256;
    if (!used.has(x)) return `10.213.${x}.0/24`;
  }
  throw new Error('no free /24 left in 10.213.0.0/16');
}
