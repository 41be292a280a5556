// The state directory holds every cluster's secrets: nkd must never lose it to a bad argument, follow a
// link or trust a file it did not create there, nor quote a secret file in an error.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, removeTempDirs, sandbox } from '../helpers/cli.js';

const LIBVIRT = join(REPO_ROOT, 'examples', 'libvirt.yaml');
const OPENSTACK = join(REPO_ROOT, 'examples', 'openstack.yaml');

afterAll(removeTempDirs);

describe.concurrent('secret state files', () => {
  it('a corrupt tokens.json is named as corrupt (exit 4) without quoting a token on stderr or in the debug log', async () => {
    const sb = sandbox();
    const args = ['deploy', '-f', OPENSTACK, '--dry-run', '--state-dir', sb.state];
    expect((await sb.run(args)).exitCode).toBe(0);
    const cluster = join(sb.state, 'clusters', 'prod');
    const file = join(cluster, 'ignition-service', 'tokens.json');
    const text = readFileSync(file, 'utf8');
    // Break it right after a token: V8's message quotes the characters around the fault.
    const broken = text.replace(/",\n/, '" oops,\n');
    writeFileSync(file, broken);
    const r = await sb.run(args);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain(`${file} is corrupt (not valid JSON)`);
    const log = readFileSync(join(cluster, 'logs', 'nkd-debug.log'), 'utf8');
    const tokens = Object.values(JSON.parse(text) as Record<string, string>);
    for (const token of tokens) {
      for (const part of [token.slice(0, 10), token.slice(-10)]) {
        expect(r.stderr).not.toContain(part);
        expect(log).not.toContain(part);
      }
    }
  });
});

export { LIBVIRT };
