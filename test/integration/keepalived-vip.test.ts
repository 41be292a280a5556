// The real keepalived holds the API VIP with the files nkd renders. Three control planes are network
// namespaces joined by a bridge (test/helpers/netns.ts: no address outside them is ever used), each
// running the rendered launcher, keepalived.conf and health check (only the paths differ) and a small
// HTTPS server standing in for the API server's /readyz on 6443. The VIP must land on control plane 1,
// move when its check fails or its keepalived stops, and come back.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { planCluster } from '../../src/plan/plan.js';
import type { ClusterPlan } from '../../src/plan/types.js';
import { keepalivedFiles, vrrpInstance, type KeepalivedPaths } from '../../src/render/keepalived.js';
import { loadTemplates } from '../../src/render/templates.js';
import { validConfig } from '../helpers/configs.js';
import { addressesIn, createLan, type TestLan } from '../helpers/netns.js';
import { describeReal } from '../helpers/real.js';

const KEEPALIVED = '/usr/sbin/keepalived';

const requirement = {
  missing(): string | undefined {
    if (spawnSync(KEEPALIVED, ['--version']).status !== 0)
      return `${KEEPALIVED} is not installed (apt-get install keepalived)`;
    for (const tool of ['ip', 'curl', 'openssl'])
      if (spawnSync(tool, ['-V']).error !== undefined) return `${tool} is not installed`;
    return process.getuid?.() === 0 ? undefined : 'needs root (network namespaces, keepalived)';
  },
};

// The API's stand-in: 200 on /readyz unless the flag file exists; the body names the node.
const SERVER = `
import { createServer } from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
const [cert, key, name, flag] = process.argv.slice(2);
createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  const ok = req.url === '/readyz' && !existsSync(flag);
  res.writeHead(ok ? 200 : 500);
  res.end(name);
}).listen(6443, '0.0.0.0');
`;

interface Host {
  name: string;
  ns: string;
  dir: string;
  failFlag: string;
  keepalived?: ChildProcess;
}

function vipPlan(): ClusterPlan {
  return planCluster(
    validConfig({
      controlPlane: { count: 3 },
      workers: { count: 0 },
      platform: {
        libvirt: {
          image: '/var/lib/libvirt/images/nestos.qcow2',
          network: { cidr: '10.77.0.0/24' },
          apiEndpoint: { type: 'vip' },
        },
      },
    }),
  );
}

describeReal('keepalived holds the API VIP with the rendered files', requirement, () => {
  const plan = vipPlan();
  const vip = plan.kubernetes.apiVip!;
  const controlPlanes = plan.nodes.filter((n) => n.role === 'control-plane');
  let lan: TestLan;
  let root: string;
  const hosts: Host[] = [];
  const servers: ChildProcess[] = [];

  /** Starts host's keepalived through the rendered launcher, exactly as the systemd unit does. */
  function startKeepalived(host: Host): void {
    // keepalived logs to its console (--log-console), as it would to the journal under systemd.
    const log = openSync(join(host.dir, 'keepalived.log'), 'a');
    const child = spawn('ip', ['netns', 'exec', host.ns, join(host.dir, 'nkd-keepalived')], {
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    host.keepalived = child;
  }

  async function stopKeepalived(host: Host): Promise<void> {
    const child = host.keepalived;
    if (child?.pid === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    await exited;
  }

  async function holders(): Promise<string[]> {
    const out: string[] = [];
    for (const host of hosts)
      if ((await addressesIn(host.ns, 'eth0')).includes(vip.address)) out.push(host.name);
    return out;
  }

  /** Waits until exactly `expected` hold the VIP (none, or one node); returns how long that took. */
  async function waitForHolders(expected: string[], timeoutMs = 30_000): Promise<number> {
    const start = Date.now();
    let seen: string[] = [];
    while (Date.now() - start < timeoutMs) {
      seen = await holders();
      if (seen.join() === expected.join()) return Date.now() - start;
      await sleep(200);
    }
    throw new Error(`expected [${expected.join(', ')}] to hold ${vip.address}, held by [${seen.join(', ')}]`);
  }

  const waitForHolder = (name: string) => waitForHolders([name]);

  /** What answers on the VIP, seen from a client on the LAN (ARP included). */
  async function answerOnVip(): Promise<string> {
    const { stdout } = await execa(
      'ip',
      [
        'netns',
        'exec',
        lan.bridgeNs,
        'curl',
        '--silent',
        '--max-time',
        '3',
        '--cacert',
        join(root, 'ca.pem'),
        `https://${vip.address}:6443/readyz`,
      ],
      { reject: false },
    );
    return stdout;
  }

  beforeAll(async () => {
    // Under /run: keepalived runs scripts only from paths no other user can write (not /tmp).
    root = mkdtempSync('/run/nkd-keepalived-test-');
    const sans = [...controlPlanes.map((n) => `IP:${n.address}`), `IP:${vip.address}`].join(',');
    await execa('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=kube-apiserver',
      '-addext',
      `subjectAltName=${sans}`,
      '-keyout',
      join(root, 'key.pem'),
      '-out',
      join(root, 'ca.pem'),
    ]);
    writeFileSync(join(root, 'server.mjs'), SERVER);
    lan = await createLan(
      'nkdka',
      controlPlanes.map((n) => n.address),
      '10.77.0.250',
      24,
    );
    const templates = loadTemplates();
    for (const [i, node] of controlPlanes.entries()) {
      const dir = join(root, node.name);
      mkdirSync(dir, { mode: 0o700 });
      const paths: KeepalivedPaths = {
        keepalived: KEEPALIVED,
        configFile: join(dir, 'keepalived.conf'),
        checkScript: join(dir, 'nkd-apiserver-check'),
        runDir: join(dir, 'run'),
        caFile: join(root, 'ca.pem'),
      };
      const files = keepalivedFiles(templates, vrrpInstance(plan, vip, node, 'Test1234'), paths);
      writeFileSync(paths.configFile, files.config, { mode: 0o600 });
      writeFileSync(paths.checkScript, files.checkScript, { mode: 0o755 });
      writeFileSync(join(dir, 'nkd-keepalived'), files.launcher, { mode: 0o755 });
      chmodSync(dir, 0o755);
      const host: Host = { name: node.name, ns: lan.hostNs[i]!, dir, failFlag: join(dir, 'fail') };
      hosts.push(host);
      const server = spawn(
        'ip',
        [
          'netns',
          'exec',
          host.ns,
          process.execPath,
          join(root, 'server.mjs'),
          join(root, 'ca.pem'),
          join(root, 'key.pem'),
          node.name,
          host.failFlag,
        ],
        { stdio: 'ignore' },
      );
      servers.push(server);
    }
    for (const host of hosts) startKeepalived(host);
  }, 60_000);

  afterAll(async () => {
    for (const host of hosts) await stopKeepalived(host).catch(() => undefined);
    for (const server of servers) server.kill('SIGKILL');
    await lan?.stop();
    // KEEP_KA=1 keeps the files and keepalived logs for a look after a failure.
    if (root && !process.env.KEEP_KA) rmSync(root, { recursive: true, force: true });
  });

  it('control plane 1 takes the VIP, and clients on the network reach its API through it', async () => {
    const ms = await waitForHolder(hosts[0]!.name);
    console.log(`keepalived: VIP on ${hosts[0]!.name} after ${ms} ms`);
    expect(await answerOnVip()).toBe(hosts[0]!.name);
  });

  it('reads the rendered configuration without a warning', () => {
    for (const host of hosts) {
      const log = readFileSync(join(host.dir, 'keepalived.log'), 'utf8');
      expect(log, host.name).toMatch(/Entering MASTER STATE|Entering BACKUP STATE/);
      expect(log, host.name).not.toMatch(/warning|unknown keyword|security violation|unsafe|error/i);
    }
  });

  it('moves to control plane 2 when control plane 1 fails its check, and comes back', async () => {
    const [cp1, cp2] = [hosts[0]!, hosts[1]!];
    writeFileSync(cp1.failFlag, '');
    const away = await waitForHolder(cp2.name);
    expect(await answerOnVip()).toBe(cp2.name);
    rmSync(cp1.failFlag);
    const back = await waitForHolder(cp1.name);
    console.log(`keepalived: failed check -> ${cp2.name} in ${away} ms, back in ${back} ms`);
    expect(await answerOnVip()).toBe(cp1.name);
  });

  it('moves when control plane 1’s keepalived stops, and comes back when it starts', async () => {
    const [cp1, cp2] = [hosts[0]!, hosts[1]!];
    await stopKeepalived(cp1);
    const away = await waitForHolder(cp2.name);
    startKeepalived(cp1);
    const back = await waitForHolder(cp1.name);
    console.log(`keepalived: stopped -> ${cp2.name} in ${away} ms, back in ${back} ms`);
    expect(await answerOnVip()).toBe(cp1.name);
  });

  it('a node whose check fails never takes the VIP, even as the last one', async () => {
    const [cp1, cp2, cp3] = [hosts[0]!, hosts[1]!, hosts[2]!];
    writeFileSync(cp2.failFlag, '');
    writeFileSync(cp1.failFlag, '');
    await waitForHolder(cp3.name);
    writeFileSync(cp3.failFlag, '');
    await waitForHolders([]);
    // And it stays released while every check fails.
    await sleep(3000);
    expect(await holders()).toEqual([]);
    for (const host of hosts) rmSync(host.failFlag, { force: true });
    await waitForHolder(cp1.name);
  });
});
