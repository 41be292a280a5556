/**
 * Test helpers that run the real Ignition 2.14 (Debian package `ignition`) against rendered configs.
 *
 * - `validateIgnition` runs `ignition-validate`.
 * - `applyIgnition` builds a scratch root, runs the real Ignition binary's fetch-offline (and fetch, only when
 *   the neednet flag file appears) and files stages into it, and returns accessors for asserting on the result.
 *
 * Applying needs root (Ignition chowns files and runs `useradd --root`). See /work/shared/notes/ignition.md.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';

export const IGNITION_BIN = '/usr/lib/dracut/modules.d/30ignition/ignition';
export const IGNITION_VALIDATE_BIN = '/usr/bin/ignition-validate';

/** Groups present in the scratch root besides `root` (those NestOS users are commonly put in). */
const BASE_GROUPS: ReadonlyArray<readonly [name: string, gid: number]> = [
  ['wheel', 10],
  ['sudo', 27],
  ['adm', 4],
  ['systemd-journal', 190],
];

export interface AppliedRoot {
  /** Absolute path of the scratch root on the host. */
  root: string;
  /** Combined output of every Ignition stage that ran. */
  log: string;
  /** Reads a file; `path` is absolute inside the node, e.g. '/etc/hostname'. */
  readFile(path: string): string;
  exists(path: string): boolean;
  /** Permission bits (mode & 0o7777). */
  mode(path: string): number;
  /** Units named by "enable X" lines in /etc/systemd/system-preset/20-ignition.preset. */
  enabledUnits(): string[];
  /** Removes the scratch root. */
  cleanup(): void;
}

export function ignitionAvailable(): boolean {
  return existsSync(IGNITION_BIN) && existsSync(IGNITION_VALIDATE_BIN);
}

export async function validateIgnition(configPath: string): Promise<{ ok: boolean; output: string }> {
  const result = await execa(IGNITION_VALIDATE_BIN, [resolve(configPath)], { reject: false, all: true });
  return { ok: result.exitCode === 0, output: result.all ?? '' };
}

function writeScratchRoot(root: string, extraGroups: readonly string[]): void {
  // mkdtemp makes the root 0700, but Ignition writes ~/.ssh/authorized_keys.d as the user (not as root), so
  // every directory down to /home/<user> must be traversable by that user.
  chmodSync(root, 0o755);
  const etc = join(root, 'etc');
  mkdirSync(etc, { recursive: true, mode: 0o755 });
  mkdirSync(join(root, 'home'), { mode: 0o755 });
  chmodSync(join(root, 'home'), 0o755); // regardless of umask

  const groups: Array<readonly [string, number]> = [['root', 0], ...BASE_GROUPS];
  let nextGid = 2000; // useradd picks private-group gids above those in use, so these never clash
  for (const name of extraGroups) {
    if (!groups.some(([existing]) => existing === name)) groups.push([name, nextGid++]);
  }

  writeFileSync(join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(etc, 'shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o600 });
  writeFileSync(join(etc, 'group'), groups.map(([name, gid]) => `${name}:x:${gid}:\n`).join(''));
  writeFileSync(
    join(etc, 'gshadow'),
    groups.map(([name]) => `${name}:${name === 'root' ? '*' : '!'}::\n`).join(''),
    { mode: 0o600 },
  );
  // Not strictly needed for useradd --root to create homes, but without it useradd gives new users gid 100
  // (absent from /etc/group) instead of a private group as on NestOS.
  writeFileSync(
    join(etc, 'login.defs'),
    [
      'UID_MIN 1000',
      'UID_MAX 60000',
      'GID_MIN 1000',
      'GID_MAX 60000',
      'USERGROUPS_ENAB yes',
      'CREATE_HOME yes',
      'UMASK 022',
      'ENCRYPT_METHOD SHA512',
      '',
    ].join('\n'),
  );

  // The Debian build always relabels at the end of the files stage; it needs an SELinux policy layout.
  mkdirSync(join(etc, 'selinux', 'targeted', 'contexts', 'files'), { recursive: true });
  writeFileSync(join(etc, 'selinux', 'config'), 'SELINUX=enforcing\nSELINUXTYPE=targeted\n');
  writeFileSync(join(etc, 'selinux', 'targeted', 'contexts', 'files', 'file_contexts'), '');
}

export async function applyIgnition(
  configPath: string,
  opts: {
    extraGroups?: string[];
    /**
     * Kills a stage still running after this many milliseconds (the stage then fails). Ignition retries
     * connection and TLS errors until `ignition.timeouts.httpTotal` (default: forever), so tests that point it
     * at an unreachable or untrusted server set this as a safety net.
     */
    stageTimeoutMs?: number;
  } = {},
): Promise<AppliedRoot> {
  const config = resolve(configPath);
  const root = mkdtempSync(join(tmpdir(), 'nkd-ign-root-'));
  const work = mkdtempSync(join(tmpdir(), 'nkd-ign-work-'));
  const cleanup = (): void => {
    rmSync(root, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  };

  let log = '';
  try {
    writeScratchRoot(root, opts.extraGroups ?? []);

    const stubDir = join(work, 'bin');
    mkdirSync(stubDir);
    const setfiles = join(stubDir, 'setfiles');
    writeFileSync(setfiles, '#!/bin/sh\ncat >/dev/null\n');
    chmodSync(setfiles, 0o755);

    const neednet = join(work, 'neednet');
    const common = [
      '--platform=file',
      `--root=${root}`,
      '--log-to-stdout',
      `--config-cache=${join(work, 'cache.json')}`,
      `--state-file=${join(work, 'state')}`,
      `--neednet=${neednet}`,
    ];
    const runStage = async (stage: string, env: Record<string, string> = {}): Promise<void> => {
      const result = await execa(IGNITION_BIN, [...common, `--stage=${stage}`], {
        reject: false,
        all: true,
        env: { IGNITION_CONFIG_FILE: config, ...env },
        ...(opts.stageTimeoutMs !== undefined ? { timeout: opts.stageTimeoutMs } : {}),
      });
      const killed = result.timedOut ? `, killed after ${String(opts.stageTimeoutMs)} ms` : '';
      log += `===== ignition --stage=${stage} (exit ${String(result.exitCode)}${killed}) =====\n${result.all ?? ''}\n`;
      if (result.exitCode !== 0) {
        throw new Error(`Ignition stage ${stage} failed (exit ${String(result.exitCode)}):\n${log}`);
      }
    };

    await runStage('fetch-offline');
    if (existsSync(neednet)) await runStage('fetch');
    await runStage('files', { PATH: [stubDir, process.env.PATH ?? ''].join(delimiter) });
  } catch (err) {
    cleanup();
    throw err;
  }
  // Ignition's work files (cache with the full config, state) are not needed after the run.
  rmSync(work, { recursive: true, force: true });

  const inRoot = (path: string): string => {
    if (!isAbsolute(path)) throw new Error(`expected an absolute path inside the node, got ${path}`);
    return join(root, path);
  };

  return {
    root,
    log,
    readFile: (path) => readFileSync(inRoot(path), 'utf8'),
    exists: (path) => existsSync(inRoot(path)),
    mode: (path) => statSync(inRoot(path)).mode & 0o7777,
    enabledUnits: () => {
      const preset = inRoot('/etc/systemd/system-preset/20-ignition.preset');
      if (!existsSync(preset)) return [];
      return readFileSync(preset, 'utf8')
        .split('\n')
        .map((line) => /^enable\s+(\S+)\s*$/.exec(line.trim())?.[1])
        .filter((unit): unit is string => unit !== undefined);
    },
    cleanup,
  };
}
