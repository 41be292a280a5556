// What deploy would refuse, validate refuses (or warns about) at its FILE:LINE:COL; hostile input
// (alias bombs, endless files, huge scalars) is refused with nkd's own bounded sentences. Through the
// built CLI.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  edit,
  lineOf,
  problemLines,
  REPO_ROOT,
  removeTempDirs,
  sandbox,
  warningLines,
  writeConfig,
} from '../helpers/cli.js';

afterAll(removeTempDirs);

const EXAMPLE_TEXT = readFileSync(join(REPO_ROOT, 'examples', 'libvirt.yaml'), 'utf8');
const KUBE_HEAD = /^ {2}kubernetes:\n {4}version: v\d+\.\d+\.\d+\n/m.exec(EXAMPLE_TEXT)![0];

/** Runs validate on `yaml`; returns the file path with the run. */
async function validate(yaml: string) {
  const sb = sandbox();
  const file = writeConfig(sb.root, yaml);
  return { file, r: await sb.run(['validate', '-f', file]) };
}

describe.concurrent('validate makes the checks deploy would make', () => {
  it('the OpenStack template without advertise: not set is a warning at its line, and deploy refuses it there', async () => {
    const sb = sandbox();
    const template = await sb.run(['template', '--platform', 'openstack']);
    // The template names an example address; a user who removes it must hear about it from validate.
    template.stdout = template.stdout.replace(/^( *)advertise:.*$/m, '$1listen: 0.0.0.0:22623');
    const file = writeConfig(sb.root, template.stdout);
    const v = await sb.run(['validate', '-f', file]);
    expect(v.exitCode, v.stderr).toBe(0);
    const [warning] = warningLines(v.stderr, file).filter((w) => w.path.endsWith('advertise'));
    expect(warning).toMatchObject({
      path: 'spec.platform.openstack.ignitionService.advertise',
      line: lineOf(template.stdout, 'ignitionService:'),
    });
    const d = await sb.run(['deploy', '-f', file, '--yes', '--state-dir', sb.state], {
      env: { NKD_PULUMI_ROOT: process.env.NKD_PULUMI_ROOT ?? join(sb.root, 'no-pulumi') },
    });
    if (d.exitCode === 5) return; // no Pulumi CLI on this machine: deploy stops before reading the config
    expect(d.exitCode, d.stderr).toBe(3);
    expect(problemLines(d.stderr, file)).toContainEqual(
      expect.objectContaining({ path: warning!.path, line: warning!.line, col: warning!.col }),
    );
  });

  it('a /30 podSubnet or serviceSubnet is refused at its line', async () => {
    const yaml = edit(
      EXAMPLE_TEXT,
      KUBE_HEAD,
      `${KUBE_HEAD}    podSubnet: 10.244.0.0/30\n    serviceSubnet: 10.96.0.0/30\n`,
    );
    const { file, r } = await validate(yaml);
    expect(r.exitCode).toBe(3);
    const lines = problemLines(r.stderr, file);
    expect(lines).toContainEqual(
      expect.objectContaining({
        path: 'spec.kubernetes.podSubnet',
        line: lineOf(yaml, 'podSubnet'),
        message: expect.stringMatching(/too small: each node gets a \/24/),
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ path: 'spec.kubernetes.serviceSubnet', line: lineOf(yaml, 'serviceSubnet') }),
    );
  });

  it('a podSubnet without a /24 per node is refused; a large enough one is accepted', async () => {
    const many = edit(EXAMPLE_TEXT, 'count: 2', 'count: 300');
    const small = await validate(edit(many, KUBE_HEAD, `${KUBE_HEAD}    podSubnet: 10.244.0.0/16\n`));
    expect(small.r.exitCode).toBe(3);
    expect(small.r.stderr).toMatch(
      /podSubnet: 10\.244\.0\.0\/16 holds 256 node pod CIDRs .* 303 nodes: use \/15/,
    );
    const big = await validate(
      edit(
        edit(many, KUBE_HEAD, `${KUBE_HEAD}    podSubnet: 10.240.0.0/14\n`),
        'cidr: 192.168.132.0/24',
        'cidr: 192.168.0.0/22',
      ),
    );
    expect(big.r.exitCode, big.r.stderr).toBe(0);
  });

  it('a malformed housekeeper.image is refused at its line', async () => {
    const yaml = `${EXAMPLE_TEXT}  housekeeper:\n    image: "Not An Image!"\n`;
    const { file, r } = await validate(yaml);
    expect(r.exitCode).toBe(3);
    expect(problemLines(r.stderr, file)).toContainEqual(
      expect.objectContaining({ path: 'spec.housekeeper.image', line: lineOf(yaml, 'Not An Image') }),
    );
  });

  it('a malformed libvirt uri is refused; a password inside it is refused as an inline secret, unechoed', async () => {
    const bad = await validate(edit(EXAMPLE_TEXT, 'uri: qemu:///system', 'uri: http//kvm1'));
    expect(bad.r.exitCode).toBe(3);
    expect(problemLines(bad.r.stderr, bad.file)).toContainEqual(
      expect.objectContaining({
        path: 'spec.platform.libvirt.uri',
        message: expect.stringMatching(/is not a QEMU\/KVM libvirt URI/),
      }),
    );
    const yaml = edit(EXAMPLE_TEXT, 'uri: qemu:///system', 'uri: qemu+ssh://root:hunter2@kvm1/system');
    const secret = await validate(yaml);
    expect(secret.r.exitCode).toBe(3);
    expect(problemLines(secret.r.stderr, secret.file)).toContainEqual(
      expect.objectContaining({
        path: 'spec.platform.libvirt.uri',
        line: lineOf(yaml, 'hunter2'),
        message: expect.stringMatching(/password.*secrets are never accepted/),
      }),
    );
    expect(secret.r.stderr).not.toContain('hunter2');
  });

  it('a missing local base image is a warning at its line; a present one or a remote host is not', async () => {
    const missing = await validate(EXAMPLE_TEXT);
    expect(missing.r.exitCode).toBe(0);
    expect(warningLines(missing.r.stderr, missing.file)).toContainEqual(
      expect.objectContaining({
        path: 'spec.platform.libvirt.image',
        line: lineOf(EXAMPLE_TEXT, 'image:'),
        message: expect.stringMatching(/does not exist on this machine/),
      }),
    );
    const sb = sandbox();
    const image = join(sb.root, 'nestos.qcow2');
    writeFileSync(image, '');
    const present = await validate(edit(EXAMPLE_TEXT, '/var/lib/libvirt/images/nestos.qcow2', image));
    expect(present.r.stderr).not.toMatch(/libvirt\.image/);
    const remote = await validate(
      edit(EXAMPLE_TEXT, 'uri: qemu:///system', 'uri: qemu+ssh://ops@kvm1/system'),
    );
    expect(remote.r.stderr).not.toMatch(/libvirt\.image/);
  });
});

describe.concurrent('hostile input: refused in nkd words, bounded', () => {
  it('a YAML alias bomb is an invalid config (exit 3) at the alias', async () => {
    const rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [prev, name] of [...'abcdef'].map((c, i) => [c, 'bcdefg'[i]!])) {
      rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const { file, r } = await validate(`${rows.join('\n')}\n`);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).not.toMatch(/internal error|resource exhaustion/);
    expect(problemLines(r.stderr, file)).toEqual([
      expect.objectContaining({ line: 2, path: '(yaml)', message: expect.stringMatching(/too many alias/) }),
    ]);
  });

  it('-f /dev/zero is refused after reading a few MiB at most', async () => {
    const started = Date.now();
    const r = await sandbox().run(['validate', '-f', '/dev/zero']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe(
      'nkd: config /dev/zero is larger than 4 MiB; a cluster config is a few kilobytes: is it the right file?',
    );
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('config import /dev/zero is refused the same way', async () => {
    const r = await sandbox().run(['config', 'import', '/dev/zero']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toMatch(/^nkd: \/dev\/zero is larger than 4 MiB/);
  });

  it('a 5 MiB config on stdin is refused the same way', async () => {
    const r = await sandbox().run(['validate', '-f', '-'], { input: `a: ${'b'.repeat(5 * 1024 * 1024)}\n` });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^nkd: config <stdin> is larger than 4 MiB/);
  });

  it('a 1 MB scalar on stdin is echoed capped, not whole', async () => {
    const r = await sandbox().run(['validate', '-f', '-'], { input: `${'a'.repeat(1_000_000)}\n` });
    expect(r.exitCode).toBe(3);
    expect(r.stderr.length).toBeLessThan(400);
    expect(r.stderr).toMatch(/must be an object, not string "a{80}…"/);
  });

  it('1 MB of random bytes gives a few bounded lines, not hundreds of syntax errors', async () => {
    const sb = sandbox();
    const file = join(sb.root, 'random.bin');
    writeFileSync(file, randomBytes(1_000_000));
    const r = await sb.run(['validate', '-f', file]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr.length).toBeLessThan(4000);
    expect(r.stderr).toMatch(/\(yaml\): /);
  });

  it('an unknown key of 100 000 characters is echoed capped', async () => {
    const r = await sandbox().run(['validate', '-f', '-'], {
      // An explicit key (`? key`): implicit ones are limited to 1024 characters by YAML itself.
      input: `${EXAMPLE_TEXT}  ? ${'k'.repeat(100_000)}\n  : 1\n`,
    });
    expect(r.exitCode).toBe(3);
    expect(r.stderr.length).toBeLessThan(2000);
    expect(r.stderr).toMatch(/unknown key "k{80}…"/);
  });

  it('binary data (!!binary) is refused at its place, and a key named like a JS builtin is just unknown', async () => {
    const sb = sandbox();
    const binary = await sb.run(['validate', '-f', '-'], { input: '!!binary aGVsbG8=\n' });
    expect(binary.exitCode, binary.stderr).toBe(3);
    expect(binary.stderr).toMatch(/^<stdin>:1:\d+: \(root\): is binary data \(!!binary\)/m);
    expect(binary.stderr).not.toMatch(/internal error|readBigUInt64LE/);
    const builtin = await sb.run(['validate', '-f', '-'], { input: `${EXAMPLE_TEXT}  toString: 1\n` });
    expect(builtin.exitCode).toBe(3);
    expect(builtin.stderr).toMatch(/spec\.toString: unknown key "toString"$/m);
    expect(builtin.stderr).not.toContain('native code');
  });

  it('library messages are replaced by nkd sentences', async () => {
    const sb = sandbox();
    const cases: [string, RegExp, RegExp][] = [
      [`${EXAMPLE_TEXT}---\nkind: Cluster\n`, /several YAML documents/, /parseAllDocuments/],
      [
        edit(EXAMPLE_TEXT, '    count: 3', '    count: 99999999999999999999'),
        /spec\.controlPlane\.count: is far too large/,
        /Too big|9007199254740991/,
      ],
      [
        edit(EXAMPLE_TEXT, '    count: 3', '    count: 1.5'),
        /spec\.controlPlane\.count: must be a whole number, not number 1\.5/,
        /expected int/,
      ],
    ];
    for (const [yaml, want, never] of cases) {
      const r = await sb.run(['validate', '-f', '-'], { input: yaml });
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toMatch(want);
      expect(r.stderr).not.toMatch(never);
    }
  });
});
