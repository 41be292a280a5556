// Thin wrappers over `virsh -c URI ...` and `qemu-img`. A failed command throws a VirshError whose
// message carries the command and virsh's own stderr, which is what a user needs to act on.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export class VirshError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number | undefined,
  ) {
    super(
      `${command} failed${exitCode === undefined ? '' : ` (exit ${exitCode})`}: ${stderr.trim() || '(no output)'}`,
    );
    this.name = 'VirshError';
  }
}

/** Commands are not expected to take long; an upload of a multi-GiB image is the slowest. */
const TIMEOUT_MS = 30 * 60_000;

async function run(file: string, args: readonly string[], display: string): Promise<string> {
  let result;
  try {
    result = await execa(file, args, { reject: false, timeout: TIMEOUT_MS, stdin: 'ignore' });
  } catch (error) {
    throw new VirshError(display, (error as Error).message, undefined);
  }
  if (result.failed) {
    const why =
      result.stderr || result.stdout || (result.timedOut ? 'timed out' : String(result.cause ?? ''));
    if ((result as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String(result.cause ?? ''))) {
      throw new VirshError(
        display,
        `${file} not found: install the libvirt client (Debian: libvirt-clients, qemu-utils)`,
        undefined,
      );
    }
    throw new VirshError(display, why, result.exitCode);
  }
  return result.stdout;
}

/** Runs `virsh -c uri ...args` and returns its stdout. */
export async function virsh(uri: string, args: readonly string[]): Promise<string> {
  return run('virsh', ['-q', '-c', uri, ...args], `virsh -c ${uri} ${args.join(' ')}`);
}

/** Runs `qemu-img ...args` (on the machine running nkd) and returns its stdout. */
export async function qemuImg(args: readonly string[]): Promise<string> {
  return run('qemu-img', args, `qemu-img ${args.join(' ')}`);
}

/**
 * A missing object: libvirt says "... not found ...", but virsh 9.0 prints only "failed to get domain
 * 'x'" for a missing domain (and "failed to get pool" when a volume's pool is gone).
 */
export function isNotFound(error: unknown): boolean {
  return (
    error instanceof VirshError && /not found|failed to get (domain|network|pool|vol) /i.test(error.stderr)
  );
}

/** Stopping something already stopped. */
export function isNotActive(error: unknown): boolean {
  return error instanceof VirshError && /is not (running|active)|not active/i.test(error.stderr);
}

/** Writes text to a private temporary file for the duration of `fn` (virsh takes XML and uploads by path). */
export async function withTempFile<T>(
  name: string,
  contents: string,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'nkd-virsh-'));
  try {
    const path = join(dir, name);
    await writeFile(path, contents, { mode: 0o600 });
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export type ObjectKind = 'domain' | 'network' | 'pool';

const DUMPXML: Record<ObjectKind, string> = {
  domain: 'dumpxml',
  network: 'net-dumpxml',
  pool: 'pool-dumpxml',
};
const DEFINE: Record<ObjectKind, string> = { domain: 'define', network: 'net-define', pool: 'pool-define' };

/** The live XML of an object, or undefined when there is none with that name. */
export async function dumpXml(uri: string, kind: ObjectKind, name: string): Promise<string | undefined> {
  try {
    return await virsh(uri, [DUMPXML[kind], name]);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function defineXml(uri: string, kind: ObjectKind, xml: string): Promise<void> {
  await withTempFile(`${kind}.xml`, xml, (path) => virsh(uri, [DEFINE[kind], path]));
}

/** The volume's XML, or undefined when the pool has no such volume (or the pool is gone). */
export async function volumeXmlOf(uri: string, pool: string, name: string): Promise<string | undefined> {
  try {
    return await virsh(uri, ['vol-dumpxml', '--pool', pool, name]);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function volumePath(uri: string, pool: string, name: string): Promise<string> {
  return (await virsh(uri, ['vol-path', '--pool', pool, name])).trim();
}

/** Capacity and allocation in bytes, as `virsh vol-info --bytes` reports them. */
export async function volumeInfo(
  uri: string,
  pool: string | undefined,
  nameOrPath: string,
): Promise<{ capacity: number; allocation: number }> {
  const text = await virsh(uri, ['vol-info', '--bytes', ...(pool ? ['--pool', pool] : []), nameOrPath]);
  const field = (label: string) => Number(new RegExp(`^${label}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { capacity: field('Capacity'), allocation: field('Allocation') };
}

export async function deleteVolume(uri: string, pool: string, name: string): Promise<void> {
  try {
    await virsh(uri, ['vol-delete', '--pool', pool, name]);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** Whether the object runs: `domstate` "running", pool-info "State: running", net-info "Active: yes". */
export async function isActive(uri: string, kind: ObjectKind, name: string): Promise<boolean> {
  if (kind === 'domain') return (await virsh(uri, ['domstate', name])).trim() === 'running';
  const info = await virsh(uri, [kind === 'pool' ? 'pool-info' : 'net-info', name]);
  return kind === 'pool' ? /^State:\s+running/m.test(info) : /^Active:\s+yes/m.test(info);
}

/** The first text of `<tag>` in an XML document: enough for the few fields read back from libvirt. */
export function xmlText(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}(?:\\s[^>]*)?>([^<]*)</${tag}>`).exec(xml);
  return match?.[1] === undefined ? undefined : unescapeXml(match[1]);
}

export function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export interface ImageInfo {
  format: 'raw' | 'qcow2';
  virtualSizeBytes: number;
  fileSizeBytes: number;
}

/** Format and virtual size of a local image file; only raw and qcow2 are accepted as base images. */
export async function imageInfo(path: string): Promise<ImageInfo> {
  const info = JSON.parse(await qemuImg(['info', '--output=json', path])) as {
    format?: string;
    'virtual-size'?: number;
    'actual-size'?: number;
  };
  const format = info.format;
  if (format !== 'raw' && format !== 'qcow2') {
    throw new Error(`base image ${path} is ${format ?? 'of an unknown format'}; nkd needs qcow2 or raw`);
  }
  const { size } = await stat(path);
  return { format, virtualSizeBytes: info['virtual-size'] ?? size, fileSizeBytes: size };
}

/**
 * The uid/gid QEMU runs as for KVM guests (the DAC security model's base label in `virsh
 * capabilities`), so files QEMU must read but libvirt does not relabel (fw_cfg blobs) can be given to
 * it. Undefined when the host has no DAC model.
 */
export async function qemuDacOwner(uri: string): Promise<{ uid: number; gid: number } | undefined> {
  const caps = await virsh(uri, ['capabilities']);
  const match = /<baselabel type='kvm'>\+(\d+):\+(\d+)<\/baselabel>/.exec(caps);
  return match ? { uid: Number(match[1]), gid: Number(match[2]) } : undefined;
}
