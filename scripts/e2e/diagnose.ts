// When a step fails: what the guests say (nkd's bootstrap unit, the kubelet, containerd), read over SSH
// with the run's key from inside the namespace, into logs/ and the tail onto the console.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST_SSH_OPTIONS } from '../lib/ssh-options.js';
import type { E2eWorld } from './world.js';

/** The cluster's nodes as its libvirt network's DHCP hosts name them: name -> address. */
export async function networkHosts(world: E2eWorld, cluster: string): Promise<Map<string, string>> {
  const hosts = new Map<string, string>();
  const list = await world.exec('virsh', 'virsh', [
    '-q',
    '-c',
    world.daemon.uri,
    'net-list',
    '--all',
    '--name',
  ]);
  for (const net of list.out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes(cluster))) {
    const xml = (await world.exec('virsh', 'virsh', ['-c', world.daemon.uri, 'net-dumpxml', net])).out;
    for (const m of xml.matchAll(/<host [^>]*name='([^']+)'[^>]*ip='([^']+)'/g)) hosts.set(m[1]!, m[2]!);
  }
  return hosts;
}

export async function sshRun(world: E2eWorld, key: string, target: string, command: string): Promise<string> {
  const r = await world.exec('ssh', 'ssh', ['-i', key, ...GUEST_SSH_OPTIONS, target, command], {
    timeoutMs: 120_000,
  });
  return r.out;
}

export async function diagnose(
  world: E2eWorld,
  cluster: string,
  user: string,
  key: string,
  print: (line: string) => void,
): Promise<void> {
  await clusterView(world, cluster, print);
  for (const [name, ip] of await networkHosts(world, cluster)) {
    const text = await sshRun(
      world,
      key,
      `${user}@${ip}`,
      'sudo -n systemctl --no-pager --failed; sudo -n journalctl -b --no-pager -o short-monotonic ' +
        '-u nkd-kubeadm -u kubelet -u containerd | tail -n 300; sudo -n crictl ps -a 2>&1 | head -40',
    );
    writeFileSync(join(world.logDir, `node-${name}.log`), text);
    print(`--- ${name} (${ip}): last lines of its journal (all in logs/node-${name}.log)`);
    for (const line of text.trim().split('\n').slice(-25)) print(`    ${line}`);
  }
}

/** What the API server says, when nkd already wrote the admin kubeconfig: pods, then recent events. */
async function clusterView(world: E2eWorld, cluster: string, print: (line: string) => void): Promise<void> {
  const kubeconfig = join(world.stateDir, 'clusters', cluster, 'admin.conf');
  if (!existsSync(kubeconfig)) return;
  const run = (args: string[]) =>
    world.kubectl(['--kubeconfig', kubeconfig, ...args]).catch((e: unknown) => String(e));
  const pods = await run(['get', 'pods', '-A', '-o', 'wide']);
  const events = await run(['get', 'events', '-A', '--sort-by=.lastTimestamp']);
  writeFileSync(join(world.logDir, 'cluster.log'), `${pods}\n${events}`);
  print('--- the cluster: pods (all in logs/cluster.log, with the events)');
  for (const line of pods.trim().split('\n').slice(0, 40)) print(`    ${line}`);
  print('--- the last events');
  for (const line of events.trim().split('\n').slice(-25)) print(`    ${line}`);
}
