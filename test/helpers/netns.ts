// A small layer-2 network of the test's own: one namespace holding a bridge, and one namespace per
// "host" joined to it by a veth pair. Nothing touches the machine's own network: every address lives
// inside namespaces created here, and stop() ends what was started in them and deletes them.
import { execa } from 'execa';

export interface TestLan {
  /** Namespace of the bridge, which also has an address on the LAN (a client). */
  bridgeNs: string;
  clientAddress: string;
  /** Namespace per host, in the order given; each host's interface is eth0. */
  hostNs: string[];
  /** argv running `argv` inside a namespace. */
  inNs(ns: string, argv: string[]): string[];
  stop(): Promise<void>;
}

const ip = (...args: string[]) => execa('ip', args);

/** Pids of every process in the namespace (what a test started there, and their children). */
async function pidsIn(ns: string): Promise<number[]> {
  const out = (await execa('ip', ['netns', 'pids', ns], { reject: false })).stdout;
  return out
    .split('\n')
    .map(Number)
    .filter((p) => p > 0);
}

export async function createLan(
  prefix: string,
  hostAddresses: string[],
  clientAddress: string,
  bits: number,
): Promise<TestLan> {
  const tag = `${prefix}${process.pid % 100000}`;
  const bridgeNs = `${tag}-lan`;
  const hostNs = hostAddresses.map((_, i) => `${tag}-h${i + 1}`);
  const all = [bridgeNs, ...hostNs];
  const stop = async () => {
    for (const ns of all) {
      for (const pid of await pidsIn(ns)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await execa('ip', ['netns', 'delete', ns], { reject: false });
    }
  };
  try {
    for (const ns of all) {
      await ip('netns', 'add', ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    await ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', bridgeNs, 'addr', 'add', `${clientAddress}/${bits}`, 'dev', 'br0');
    await ip('-n', bridgeNs, 'link', 'set', 'br0', 'up');
    for (const [i, ns] of hostNs.entries()) {
      const port = `p${i + 1}`;
      // Created in the bridge's namespace, then one end moved into the host's, renamed eth0.
      await ip('-n', bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', `e${i + 1}`);
      await ip('-n', bridgeNs, 'link', 'set', `e${i + 1}`, 'netns', ns);
      await ip('-n', ns, 'link', 'set', `e${i + 1}`, 'name', 'eth0');
      await ip('-n', ns, 'addr', 'add', `${hostAddresses[i]}/${bits}`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      await ip('-n', bridgeNs, 'link', 'set', port, 'master', 'br0');
      await ip('-n', bridgeNs, 'link', 'set', port, 'up');
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    bridgeNs,
    clientAddress,
    hostNs,
    inNs: (ns, argv) => ['ip', 'netns', 'exec', ns, ...argv],
    stop,
  };
}

/** The IPv4 addresses on a namespace's interface. */
export async function addressesIn(ns: string, dev: string): Promise<string[]> {
  const out = (await execa('ip', ['-n', ns, '-o', '-4', 'addr', 'show', 'dev', dev], { reject: false }))
    .stdout;
  return [...out.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
}
