import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { applyIgnition, ignitionAvailable, validateIgnition, type AppliedRoot } from '../helpers/ignition.js';

const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHarnessTestKeyOnlyForTests nkd-test@example';

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
const dataUrl = (text: string): string => `data:;base64,${b64(text)}`;

describe.skipIf(!ignitionAvailable() || process.getuid?.() !== 0)('real Ignition harness', () => {
  let dir: string;
  const applied: AppliedRoot[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nkd-ign-test-'));
  });
  afterEach(() => {
    for (const a of applied.splice(0)) a.cleanup();
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  let counter = 0;
  const writeConfig = (config: unknown): string => {
    const path = join(dir, `config-${++counter}.ign`);
    writeFileSync(path, JSON.stringify(config, null, 2));
    return path;
  };
  const apply = async (path: string, opts?: { extraGroups?: string[] }): Promise<AppliedRoot> => {
    const a = await applyIgnition(path, opts);
    applied.push(a);
    return a;
  };

  it('applies files, directories, units with drop-ins and users into a scratch root', async () => {
    const unit =
      '[Unit]\nDescription=Harness\n\n[Service]\nExecStart=/usr/bin/true\n\n[Install]\nWantedBy=multi-user.target\n';
    const dropin = '[Service]\nEnvironment=HARNESS=1\n';
    const cfg = writeConfig({
      ignition: { version: '3.3.0' },
      passwd: { users: [{ name: 'nest', groups: ['wheel'], sshAuthorizedKeys: [SSH_KEY] }] },
      storage: {
        files: [{ path: '/etc/nkd/hello.txt', mode: 420, contents: { source: dataUrl('hello from nkd\n') } }],
        directories: [{ path: '/var/lib/nkd', mode: 493 }],
      },
      systemd: {
        units: [
          {
            name: 'nkd-harness.service',
            enabled: true,
            contents: unit,
            dropins: [{ name: '10-env.conf', contents: dropin }],
          },
        ],
      },
    });

    const v = await validateIgnition(cfg);
    expect(v.output).toBe('');
    expect(v.ok).toBe(true);

    const node = await apply(cfg);
    expect(node.log).toContain('Ignition finished successfully');

    expect(node.readFile('/etc/nkd/hello.txt')).toBe('hello from nkd\n');
    expect(node.mode('/etc/nkd/hello.txt')).toBe(0o644);
    expect(node.exists('/var/lib/nkd')).toBe(true);
    expect(node.mode('/var/lib/nkd')).toBe(0o755);

    expect(node.readFile('/etc/systemd/system/nkd-harness.service')).toBe(unit);
    expect(node.readFile('/etc/systemd/system/nkd-harness.service.d/10-env.conf')).toBe(dropin);
    expect(node.enabledUnits()).toContain('nkd-harness.service');

    expect(node.readFile('/home/nest/.ssh/authorized_keys.d/ignition').trim()).toBe(SSH_KEY);
    expect(node.readFile('/etc/passwd')).toMatch(/^nest:x:\d+:\d+::\/home\/nest:/m);
    expect(node.readFile('/etc/group')).toMatch(/^wheel:x:10:nest$/m);
    expect(node.exists('/etc/.ignition-result.json')).toBe(true);
  });

  it('applies a file mode of 384 (decimal) as 0600', async () => {
    const cfg = writeConfig({
      ignition: { version: '3.3.0' },
      storage: { files: [{ path: '/etc/nkd/secret', mode: 384, contents: { source: dataUrl('s3cret') } }] },
    });
    const node = await apply(cfg);
    expect(node.mode('/etc/nkd/secret')).toBe(0o600);
    expect(node.readFile('/etc/nkd/secret')).toBe('s3cret');
  });

  it('rejects a config with a relative file path in ignition-validate', async () => {
    const cfg = writeConfig({
      ignition: { version: '3.3.0' },
      storage: { files: [{ path: 'etc/x', contents: { source: dataUrl('x') } }] },
    });
    const v = await validateIgnition(cfg);
    expect(v.ok).toBe(false);
    expect(v.output).toContain('storage.files.0.path');
    expect(v.output).toMatch(/path not absolute/);
  });

  it('merges a gzip-compressed data: URL child config offline', async () => {
    const child = {
      ignition: { version: '3.3.0' },
      storage: {
        files: [{ path: '/etc/nkd/merged', mode: 420, contents: { source: dataUrl('from child\n') } }],
      },
    };
    const cfg = writeConfig({
      ignition: {
        version: '3.3.0',
        config: {
          merge: [
            {
              source: `data:;base64,${b64(gzipSync(JSON.stringify(child)))}`,
              compression: 'gzip',
            },
          ],
        },
      },
      storage: { files: [{ path: '/etc/hostname', mode: 420, contents: { source: dataUrl('node-1\n') } }] },
    });

    expect((await validateIgnition(cfg)).ok).toBe(true);
    const node = await apply(cfg);
    expect(node.readFile('/etc/nkd/merged')).toBe('from child\n');
    expect(node.readFile('/etc/hostname')).toBe('node-1\n');
    expect(node.log).not.toContain('--stage=fetch (');
  });

  it('fails with the Ignition log when a user group is missing, and succeeds given extraGroups', async () => {
    const cfg = writeConfig({
      ignition: { version: '3.3.0' },
      passwd: { users: [{ name: 'nest', groups: ['docker'] }] },
    });
    await expect(applyIgnition(cfg)).rejects.toThrow(
      /stage files failed[\s\S]*group 'docker' does not exist/,
    );

    const node = await apply(cfg, { extraGroups: ['docker'] });
    expect(node.readFile('/etc/group')).toMatch(/^docker:x:\d+:nest$/m);
  });
});
