// Looking inside a real guest booted by a test (test/libvirt/testnode-boot.test.ts): SSH from inside the
// libvirtd's network namespace with the key the test configured, and what nkd rendered for that guest
// (the Ignition config nkd wrote into the storage pool), so checks compare the guest with nkd's intent.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { GUEST_SSH_OPTIONS } from '../../scripts/lib/ssh-options.js';
import type { LibvirtDaemon } from './libvirtd.js';

export interface SshResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Guest {
  user: string;
  address: string;
  /** Runs a shell command on the guest as the admin user. */
  run(command: string): Promise<SshResult>;
  /** Like run, but throws with the output unless the command exits 0. */
  text(command: string): Promise<string>;
  /** Polls until SSH answers; returns the milliseconds waited. */
  waitForSsh(timeoutMs: number): Promise<number>;
}

/** An ed25519 key pair made for the test (ssh-keygen), in dir. */
export async function makeSshKey(dir: string): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = join(dir, 'id_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'testnode@nkd', '-f', privateKey]);
  return { privateKey, publicKey: readFileSync(`${privateKey}.pub`, 'utf8').trim() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function guestOverSsh(
  daemon: LibvirtDaemon,
  privateKey: string,
  user: string,
  address: string,
): Guest {
  const guest: Guest = {
    user,
    address,
    async run(command) {
      const { file, args } = daemon.inNetns('ssh', [
        '-i',
        privateKey,
        ...GUEST_SSH_OPTIONS,
        `${user}@${address}`,
        command,
      ]);
      const r = await execa(file, args, {
        reject: false,
        timeout: 120_000,
        stdin: 'ignore',
        stripFinalNewline: false,
      });
      return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    async text(command) {
      const r = await guest.run(command);
      if (r.exitCode !== 0)
        throw new Error(`guest: ${command}: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    },
    async waitForSsh(timeoutMs) {
      const started = Date.now();
      let last: SshResult | undefined;
      while (Date.now() - started < timeoutMs) {
        last = await guest.run('true');
        if (last.exitCode === 0) return Date.now() - started;
        await sleep(5_000);
      }
      throw new Error(`SSH to ${user}@${address} did not answer within ${timeoutMs} ms: ${last?.stderr}`);
    },
  };
  return guest;
}

interface IgnitionFile {
  path: string;
  mode?: number;
  contents?: { source?: string };
}

export interface RenderedIgnition {
  /** The contents of a file the config writes, decoded; undefined when it writes no such file. */
  file(path: string): string | undefined;
  users(): { name: string; sshAuthorizedKeys?: string[]; groups?: string[] }[];
  /** Units the config enables. */
  enabledUnits(): string[];
}

function decodeDataUrl(source: string): string {
  const match = /^data:([^,]*),(.*)$/s.exec(source);
  if (!match) throw new Error(`not a data URL: ${source.slice(0, 40)}`);
  return match[1]!.endsWith(';base64')
    ? Buffer.from(match[2]!, 'base64').toString('utf8')
    : decodeURIComponent(match[2]!);
}

/** The Ignition config nkd wrote for a node (a file in the libvirt storage pool). */
export function readRenderedIgnition(path: string): RenderedIgnition {
  const config = JSON.parse(readFileSync(path, 'utf8')) as {
    storage?: { files?: IgnitionFile[] };
    passwd?: { users?: { name: string; sshAuthorizedKeys?: string[]; groups?: string[] }[] };
    systemd?: { units?: { name: string; enabled?: boolean }[] };
  };
  return {
    file(p) {
      const f = config.storage?.files?.find((x) => x.path === p);
      return f?.contents?.source === undefined ? undefined : decodeDataUrl(f.contents.source);
    },
    users: () => config.passwd?.users ?? [],
    enabledUnits: () => (config.systemd?.units ?? []).filter((u) => u.enabled).map((u) => u.name),
  };
}
