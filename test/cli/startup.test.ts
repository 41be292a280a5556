// Start-up stays fast: heavy libraries load only inside the code that needs them. They are CommonJS
// packages, so once imported (even from ESM) they appear in the CommonJS module cache.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { assertBuilt, REPO_ROOT } from '../helpers/cli.js';

const HEAVY = ['@pulumi/', '@kubernetes/client-node', '@peculiar/x509'];
const COMMANDS_DIR = join(REPO_ROOT, 'dist', 'src', 'commands');

describe('start-up path', () => {
  it('importing any command module loads no Pulumi, Kubernetes client or x509 library', async () => {
    assertBuilt();
    const modules = readdirSync(COMMANDS_DIR).filter((f) => f.endsWith('.js'));
    expect(modules).toEqual(
      expect.arrayContaining(['deploy.js', 'destroy.js', 'validate.js', 'kubeconfig.js']),
    );
    const script = `
      import { createRequire } from 'node:module';
      for (const m of ${JSON.stringify(modules.map((m) => join(COMMANDS_DIR, m)))}) await import(m);
      const cache = Object.keys(createRequire(import.meta.url).cache);
      const heavy = ${JSON.stringify(HEAVY)};
      console.log(JSON.stringify(cache.filter((k) => heavy.some((h) => k.includes('/node_modules/' + h)))));
    `;
    const r = await execa(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT });
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
