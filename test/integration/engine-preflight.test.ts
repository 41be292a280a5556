// The engine preflight with the real Pulumi CLI (issue 11, defects 8 and 10): nkd refuses a CLI too old
// for inline refresh/destroy, and makes the provider's resource plugins available (or names the missing
// one and its version) before any engine work, so an offline `up` no longer dies downloading
// pulumi-resource-openstack half-way.
//
// Two stand-ins, because the real things cannot be built here:
// - the "old CLI" is a shell script that prints `v3.100.0` for `pulumi version` (no CLI older than 3.181
//   can be built quickly; the check only reads what `pulumi version` prints);
// - the plugin installed from a --plugin-dir is a small script named pulumi-resource-openstack, NOT the
//   real OpenStack provider (its Go module is refused by the proxy: 403). The real CLI installs it with
//   `pulumi plugin install resource openstack v3.15.2 --file`; nothing here runs it as a provider.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, removeTempDirs, sandbox, tempDir } from '../helpers/cli.js';
import { ensurePlugins, installedPlugins } from '../../src/engine/plugins.js';
import { checkPulumiVersion, MIN_PULUMI_VERSION } from '../../src/engine/pulumi-cli.js';
import { ExitCode, NkdError } from '../../src/errors.js';
import { openstackProvider } from '../../providers/openstack/descriptor.js';
import { realEngineWorld, type RealEngineWorld } from '../helpers/real-engine.js';
import { pulumiRoot, skipReason } from '../helpers/tools.js';

const ROOT = pulumiRoot();
const world: RealEngineWorld | undefined = ROOT ? realEngineWorld(ROOT) : undefined;
afterAll(() => {
  world?.cleanup();
  removeTempDirs();
});

const OPENSTACK = openstackProvider.plugins[0]!;
const OPENSTACK_EXAMPLE = join(REPO_ROOT, 'examples', 'openstack.yaml');

/** A "Pulumi CLI" that reports an old version: a stand-in, see the header. */
function oldCli(): string {
  const root = tempDir('nkd-old-pulumi-');
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin', 'pulumi'), '#!/bin/sh\necho v3.100.0\n');
  chmodSync(join(root, 'bin', 'pulumi'), 0o755);
  return root;
}

/** A fresh PULUMI_HOME with no plugins, for one nkd run. */
function emptyPulumiHome(): string {
  const home = tempDir('nkd-pulumi-home-');
  return home;
}

async function rejection(promise: Promise<unknown>): Promise<NkdError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NkdError);
  return err as NkdError;
}

describe.runIf(world)(
  world ? `engine preflight with the real Pulumi CLI (${ROOT})` : skipReason('NKD_PULUMI_ROOT'),
  { timeout: 120_000 },
  () => {
    const env = () => ({
      NKD_PULUMI_ROOT: ROOT!,
      PULUMI_SKIP_UPDATE_CHECK: 'true',
      // Downloads fail at once (loopback, closed port): this machine is offline anyway.
      PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES: '.*=http://127.0.0.1:9/',
    });

    it(`accepts the CLI npm run tools builds (>= ${MIN_PULUMI_VERSION})`, async () => {
      const version = await checkPulumiVersion(world!.cli);
      const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
      expect(major! * 1000 + minor!).toBeGreaterThanOrEqual(3181);
    });

    it('`nkd deploy` refuses a CLI older than 3.181 in one line naming both versions and `npm run tools` (exit 5), before writing anything', async () => {
      const sb = sandbox();
      const example = join(REPO_ROOT, 'examples', 'libvirt.yaml');
      const r = await sb.run(['deploy', '-f', example, '--yes', '--state-dir', sb.state], {
        env: { ...env(), NKD_PULUMI_ROOT: oldCli() },
      });
      expect(r.exitCode, r.stderr).toBe(ExitCode.Prerequisite);
      const line = r.stderr.trim().split('\n').at(-1)!;
      expect(line).toMatch(/Pulumi CLI at \S+\/bin\/pulumi is v3\.100\.0; nkd needs v3\.181\.0 or newer/);
      expect(line).toMatch(/npm run tools/);
      expect(existsSync(sb.state)).toBe(false);
    });

    it('`nkd deploy` of an OpenStack cluster offline names the missing plugin openstack v3.15.2 (exit 5) before any engine work', async () => {
      const sb = sandbox();
      const pulumiHome = emptyPulumiHome();
      const r = await sb.run(['deploy', '-f', OPENSTACK_EXAMPLE, '--yes', '--state-dir', sb.state], {
        env: { ...env(), PULUMI_HOME: pulumiHome },
        timeout: 90_000,
      });
      expect(r.exitCode, r.stderr).toBe(ExitCode.Prerequisite);
      expect(r.stderr).toMatch(
        /missing Pulumi resource plugin openstack v3\.15\.2 \(not installed, and the download failed: .*\): .*--plugin-dir DIR \(or NKD_PLUGIN_DIR=DIR\)/,
      );
      // No stack, workspace or backend was made: the engine never ran.
      expect(existsSync(join(sb.state, 'clusters', 'prod', 'engine'))).toBe(false);
    });

    it('`nkd deploy --plugin-dir` naming a directory without the plugin says so (exit 5), downloading nothing', async () => {
      const sb = sandbox();
      const dir = tempDir('nkd-plugins-empty-');
      const r = await sb.run(
        ['deploy', '-f', OPENSTACK_EXAMPLE, '--yes', '--state-dir', sb.state, '--plugin-dir', dir],
        { env: { ...env(), PULUMI_HOME: emptyPulumiHome() }, timeout: 90_000 },
      );
      expect(r.exitCode, r.stderr).toBe(ExitCode.Prerequisite);
      expect(r.stderr).toContain(
        `missing Pulumi resource plugin openstack v3.15.2 (not installed, and not in ${dir})`,
      );
    });

    it('installs a plugin binary from the plugin directory with `pulumi plugin install --file` (a stand-in, not the real provider)', async () => {
      const dir = tempDir('nkd-plugins-');
      const binary = join(dir, 'pulumi-resource-openstack');
      // NOT the real OpenStack provider (see the header): only the install path is under test.
      writeFileSync(
        binary,
        '#!/bin/sh\necho "stand-in for pulumi-resource-openstack, not the real plugin" >&2\nexit 1\n',
      );
      chmodSync(binary, 0o755);
      expect(await installedPlugins(world!.cli)).not.toContain('openstack@3.15.2');
      const lines: string[] = [];
      await ensurePlugins(world!.cli, [OPENSTACK], { pluginDir: dir, log: (l) => lines.push(l) });
      expect(lines).toEqual([`installing Pulumi plugin openstack v3.15.2 from ${binary}`]);
      // The real CLI lists it now, and keeps it in the PULUMI_HOME the engine uses.
      expect(await installedPlugins(world!.cli)).toContain('openstack@3.15.2');
      const installed = join(
        world!.pulumiHome,
        'plugins',
        'resource-openstack-v3.15.2',
        'pulumi-resource-openstack',
      );
      expect(readFileSync(installed, 'utf8')).toBe(readFileSync(binary, 'utf8'));
      // Present now: a second preflight installs nothing.
      await ensurePlugins(world!.cli, [OPENSTACK], { pluginDir: dir, log: (l) => lines.push(l) });
      expect(lines).toHaveLength(1);
    });

    it("installs from Pulumi's release tarball in the plugin directory (a stand-in binary inside, not the real provider)", async () => {
      const dir = tempDir('nkd-plugins-tgz-');
      const build = tempDir('nkd-plugin-build-');
      const plugin = { name: 'openstack', version: '3.15.1' }; // another version than the test above installed
      writeFileSync(
        join(build, 'pulumi-resource-openstack'),
        '#!/bin/sh\n# stand-in, not the real plugin\nexit 1\n',
      );
      chmodSync(join(build, 'pulumi-resource-openstack'), 0o755);
      const tarball = join(
        dir,
        `pulumi-resource-openstack-v3.15.1-linux-${process.arch === 'arm64' ? 'arm64' : 'amd64'}.tar.gz`,
      );
      await execa('tar', ['-czf', tarball, '-C', build, 'pulumi-resource-openstack']);
      const lines: string[] = [];
      await ensurePlugins(world!.cli, [plugin], { pluginDir: dir, log: (l) => lines.push(l) });
      expect(lines).toEqual([`installing Pulumi plugin openstack v3.15.1 from ${tarball}`]);
      expect(await installedPlugins(world!.cli)).toContain('openstack@3.15.1');
    });

    it('names an OpenStack plugin version that is neither installed nor downloadable (exit 5)', async () => {
      const err = await rejection(ensurePlugins(world!.cli, [{ name: 'openstack', version: '3.99.0' }]));
      expect(err.exitCode).toBe(ExitCode.Prerequisite);
      expect(err.message).toMatch(
        /^missing Pulumi resource plugin openstack v3\.99\.0 \(not installed, and the download failed/,
      );
    });
  },
);
