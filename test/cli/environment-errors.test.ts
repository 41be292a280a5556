// Problems of the environment (damaged state files, a cluster that refuses the connection, a path that
// is a directory) exit with their documented code and one line naming the path: exit 1 ("internal
// error") is only for nkd's own bugs. Through the built CLI.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/cli.js';
import { dryRunWorlds } from '../helpers/dry-run-world.js';

const servers: Server[] = [];
const world = dryRunWorlds();
afterAll(() => {
  for (const s of servers) s.close();
  removeTempDirs();
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** A loopback TCP server that counts connections (and answers nothing). */
async function countingServer(): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const s = createServer((socket) => {
    n++;
    socket.destroy();
  });
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { port: (s.address() as { port: number }).port, connections: () => n };
}

function oneNkdLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).not.toMatch(/internal error/);
  return lines[0]!;
}

describe.concurrent('damaged state files are state errors (exit 4), named, never quoted', () => {
  for (const command of ['status', 'wait']) {
    it(`${command}: a corrupt outputs.json`, async () => {
      const w = world();
      writeFileSync(join(w.dir, 'outputs.json'), '{"apiEndpoint": "s3cr3t-value');
      const r = await w.run([command, 'demo']);
      expect(r.exitCode, r.stderr).toBe(4);
      const line = oneNkdLine(r.stderr);
      expect(line).toContain(join(w.dir, 'outputs.json'));
      expect(line).toMatch(/corrupt \(not valid JSON\): restore it/);
      expect(line).not.toContain('s3cr3t');
    });

    it(`${command}: a corrupt plan.json`, async () => {
      const w = world();
      writeFileSync(join(w.dir, 'plan.json'), 'xx-s3cr3t\n');
      const r = await w.run([command, 'demo']);
      expect(r.exitCode, r.stderr).toBe(4);
      const line = oneNkdLine(r.stderr);
      expect(line).toContain(join(w.dir, 'plan.json'));
      expect(line).not.toContain('s3cr3t');
    });
  }

  it('a plan.json that is JSON of the wrong shape', async () => {
    const w = world();
    for (const text of ['[]', 'null', '{"name": "demo"}']) {
      writeFileSync(join(w.dir, 'plan.json'), text);
      const r = await w.run(['status', 'demo']);
      expect(r.exitCode, `${text}: ${r.stderr}`).toBe(4);
      expect(oneNkdLine(r.stderr)).toContain('plan.json');
    }
  });

  it('a plan.json missing what readers rely on (endpoint, node roles) is exit 4 for every reader', async () => {
    const w = world();
    const planFile = join(w.dir, 'plan.json');
    const plan = JSON.parse(readFileSync(planFile, 'utf8'));
    writeFileSync(planFile, JSON.stringify({ ...plan, kubernetes: {}, nodes: [{}] }));
    writeFileSync(
      join(w.dir, 'outputs.json'),
      JSON.stringify({ apiEndpoint: `127.0.0.1:${await closedPort()}` }),
    );
    for (const args of [
      ['status', 'demo'],
      ['wait', 'demo'],
      ['upgrade', 'status', 'demo'],
    ]) {
      const r = await w.run(args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(4);
      expect(oneNkdLine(r.stderr)).toContain('plan.json is corrupt (not the structure nkd writes)');
    }
  });

  it('scale on a damaged deployed-config.json is exit 4 naming it', async () => {
    const w = world();
    writeFileSync(
      join(w.dir, 'deployed-config.json'),
      JSON.stringify({ configFile: '/x.yaml', baseDir: '/', config: {} }),
    );
    const r = await w.run(['scale', 'demo', '--workers', '3', '--yes']);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(oneNkdLine(r.stderr)).toContain('deployed-config.json is corrupt (not the structure nkd writes)');
  });

  it('a truncated deploy-state.json makes wait exit 4 naming it', async () => {
    const w = world();
    writeFileSync(
      join(w.dir, 'outputs.json'),
      JSON.stringify({ apiEndpoint: `127.0.0.1:${await closedPort()}`, nodes: [] }),
    );
    writeFileSync(join(w.dir, 'deploy-state.json'), '{"phases": {');
    const r = await w.run(['wait', 'demo', '--api-timeout', '1s']);
    expect(r.exitCode, r.stderr).toBe(4);
    expect(oneNkdLine(r.stderr)).toContain('deploy-state.json');
  });
});

describe.concurrent('a cluster that refuses the connection is unreachable (exit 7)', () => {
  for (const args of [
    ['upgrade', 'demo', '--kube-version', 'v1.37.2'],
    ['upgrade', 'status', 'demo'],
  ]) {
    it(args.slice(0, 2).join(' '), async () => {
      const w = world();
      const port = await closedPort();
      writeFileSync(
        join(w.dir, 'outputs.json'),
        JSON.stringify({ apiEndpoint: `127.0.0.1:${port}`, nodes: [] }),
      );
      const r = await w.run(args);
      expect(r.exitCode, r.stderr).toBe(7);
      expect(oneNkdLine(r.stderr)).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}.*connection refused`));
    });
  }
});

describe.concurrent('the command line is checked before anything is contacted', () => {
  it('upgrade --kube-version banana is a usage error and opens no connection', async () => {
    const w = world();
    const api = await countingServer();
    writeFileSync(
      join(w.dir, 'outputs.json'),
      JSON.stringify({ apiEndpoint: `127.0.0.1:${api.port}`, nodes: [] }),
    );
    const r = await w.run(['upgrade', 'demo', '--kube-version', 'banana']);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(oneNkdLine(r.stderr)).toMatch(/--kube-version banana must look like v1\.37\.2/);
    expect(api.connections()).toBe(0);
  });

  it('kubeconfig --merge --kubeconfig DIR is a usage error naming the directory', async () => {
    const w = world();
    const dir = tempDir();
    mkdirSync(join(dir, 'kube'));
    const r = await w.run(['kubeconfig', 'demo', '--merge', '--kubeconfig', join(dir, 'kube')]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(oneNkdLine(r.stderr)).toContain(`${join(dir, 'kube')} is a directory`);
  });
});
