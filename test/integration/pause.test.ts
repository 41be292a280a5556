// The pause program of the air-gap pause image (scripts/images/pause), built and run for real. Besides
// holding a pod's namespaces it must answer `-v` and exit: kubeadm's upgrade health check runs the pause
// image with `-v` as a Job and fails the upgrade unless that Job completes.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeReal } from '../helpers/real.js';

const REPO = join(import.meta.dirname, '..', '..');
const GO = ['/usr/local/go/bin/go', 'go'].find((g) => spawnSync(g, ['version']).status === 0);

const requirement = {
  missing: () => (GO === undefined ? 'the Go toolchain is missing' : undefined),
};

describeReal('pause program of the air-gap pause image', requirement, () => {
  const scratch = mkdtempSync(join(tmpdir(), 'nkd-pause-'));
  const pause = join(scratch, 'pause');

  beforeAll(() => {
    execFileSync(GO!, ['build', '-trimpath', '-o', pause, '.'], {
      cwd: join(REPO, 'scripts', 'images', 'pause'),
      env: { ...process.env, CGO_ENABLED: '0' },
    });
  }, 300_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("answers -v with its version and exits 0, so kubeadm upgrade's CreateJob check completes", () => {
    for (const flag of ['-v', '-V']) {
      const r = spawnSync(pause, [flag], { encoding: 'utf8', timeout: 10_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^nkd-pause \d+\n$/);
    }
  });

  it('without -v, keeps running until SIGTERM, then exits 0', async () => {
    const child = spawn(pause, [], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const stillRunning = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 500)),
    ]);
    expect(stillRunning).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
