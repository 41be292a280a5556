// One `nkd deploy --dry-run` of examples/libvirt.yaml per test file, copied into a fresh sandbox for each
// test: a never-provisioned cluster "demo" that a test may damage without touching the others.
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect } from 'vitest';
import { REPO_ROOT, sandbox, type Sandbox } from './cli.js';

export interface DryRunWorld {
  sb: Sandbox;
  /** The cluster directory of "demo". */
  dir: string;
  /** Runs nkd with `--state-dir` set to this world's state. */
  run: (args: string[]) => ReturnType<Sandbox['run']>;
}

/** Registers the file's one dry-run (in beforeAll); each call of the result gives a new world. */
export function dryRunWorlds(): () => DryRunWorld {
  let rendered = '';
  beforeAll(async () => {
    const sb = sandbox();
    const example = join(REPO_ROOT, 'examples', 'libvirt.yaml');
    const r = await sb.run(['deploy', '-f', example, '--dry-run', '--state-dir', sb.state]);
    expect(r.exitCode, r.stderr).toBe(0);
    rendered = sb.state;
  });
  return () => {
    const sb = sandbox();
    cpSync(rendered, sb.state, { recursive: true });
    return {
      sb,
      dir: join(sb.state, 'clusters', 'demo'),
      run: (args) => sb.run([...args, '--state-dir', sb.state]),
    };
  };
}
