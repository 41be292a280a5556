// Checks of the files a config names (hooks, a network manifest), relative to the config's directory.
// They are the only config checks that read the disk, so they are handed to the parser by whoever knows
// where the config lives (loadClusterConfig, nkd scale); parseClusterConfig itself stays pure.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { capValue } from '../lib/cap.js';
import { error, type Problem } from './problems.js';
import type { ClusterConfig } from './schema.js';

export type ConfigFileChecks = (config: ClusterConfig) => Problem[];

export function resolveFrom(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

function executableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function fileReferenceChecks(baseDir: string): ConfigFileChecks {
  return (config) => {
    const problems: Problem[] = [];
    const { preDeploy, postDeploy } = config.spec.hooks;
    preDeploy.forEach((path, i) => {
      const full = resolveFrom(baseDir, path);
      if (!executableFile(full)) {
        problems.push(
          error(['spec', 'hooks', 'preDeploy', i], `${capValue(full, 200)} is not an executable file`),
        );
      }
    });
    postDeploy.forEach((path, i) => {
      const full = resolveFrom(baseDir, path);
      if (!existsSync(full))
        problems.push(error(['spec', 'hooks', 'postDeploy', i], `${capValue(full, 200)} does not exist`));
    });
    const manifest = config.spec.network.manifest;
    if (manifest !== '' && !/^[a-z]+:\/\//i.test(manifest) && !existsSync(resolveFrom(baseDir, manifest))) {
      problems.push(
        error(
          ['spec', 'network', 'manifest'],
          `${capValue(resolveFrom(baseDir, manifest), 200)} does not exist`,
        ),
      );
    }
    return problems;
  };
}
