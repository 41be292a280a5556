/**
 * A world for tests against the real Pulumi CLI (`npm run tools` builds it): a temporary PULUMI_HOME
 * (never the developer's ~/.pulumi), no update check, no inherited backend or passphrase, and cluster
 * directories whose engine state (the default file:// backend) lives in the same temporary tree.
 *
 * The engine code reads process.env (the Automation API passes it to the CLI), so the world sets it for
 * the test file's process; vitest runs each file in its own process.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PulumiCli } from '../../src/engine/pulumi-cli.js';

export interface RealEngineWorld {
  root: string;
  pulumiHome: string;
  cli: PulumiCli;
  /** A new cluster directory under the world's state directory. */
  clusterDir(name: string, stateDir?: string): string;
  cleanup(): void;
}

const INHERITED = [
  'PULUMI_BACKEND_URL',
  'PULUMI_CONFIG_PASSPHRASE',
  'PULUMI_CONFIG_PASSPHRASE_FILE',
  'PULUMI_ACCESS_TOKEN',
  'NKD_PASSPHRASE',
  'NKD_PASSPHRASE_FILE',
  'NKD_BACKEND_URL',
  'NKD_PLUGIN_DIR',
];

export function realEngineWorld(pulumiRoot: string): RealEngineWorld {
  const root = mkdtempSync(join(tmpdir(), 'nkd-real-engine-'));
  const pulumiHome = join(root, 'pulumi-home');
  mkdirSync(pulumiHome);
  for (const name of INHERITED) delete process.env[name];
  process.env.PULUMI_HOME = pulumiHome;
  process.env.PULUMI_SKIP_UPDATE_CHECK = 'true';
  // A plugin the engine would download fails fast (loopback, closed port) instead of waiting on the internet.
  process.env.PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES = '.*=http://127.0.0.1:9/';
  return {
    root,
    pulumiHome,
    cli: { root: pulumiRoot, binary: join(pulumiRoot, 'bin', 'pulumi') },
    clusterDir(name, stateDir = join(root, 'state')) {
      const dir = join(stateDir, 'clusters', name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      return dir;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
