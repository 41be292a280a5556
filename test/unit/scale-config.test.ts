// `nkd scale`'s config: the deployed one with another worker count, checked like a file.
import { describe, expect, it } from 'vitest';
import { ExitCode, NkdError } from '../../src/errors.js';
import { scaledCluster } from '../../src/workflows/scale-config.js';
import { validConfig } from '../helpers/configs.js';

const deployed = (o = {}) => ({ configFile: '/repo/cluster.yaml', baseDir: '/repo', config: validConfig(o) });

describe('scaled cluster', () => {
  it('plans the new workers after the existing ones and changes nothing else', () => {
    const before = deployed({ workers: { count: 2 } });
    const planned = scaledCluster(before, 4);
    expect(planned.plan.nodes.filter((n) => n.role === 'worker').map((n) => n.name)).toEqual([
      'demo-worker-1',
      'demo-worker-2',
      'demo-worker-3',
      'demo-worker-4',
    ]);
    expect({ ...planned.config.spec, workers: undefined }).toEqual({
      ...before.config.spec,
      workers: undefined,
    });
    expect(before.config.spec.workers.count).toBe(2); // the deployed config is not mutated
  });

  it('drops fixed hosts beyond the new count', () => {
    const planned = scaledCluster(
      deployed({ workers: { count: 2, hosts: [{ hostname: 'a' }, { hostname: 'b' }] } }),
      1,
    );
    expect(planned.config.spec.workers.hosts).toEqual([{ hostname: 'a' }]);
  });

  it('refuses a count the node network cannot hold, naming the key (exit 3)', () => {
    let error: unknown;
    try {
      scaledCluster(
        deployed({
          platform: { libvirt: { image: '/i.qcow2', network: { cidr: '192.168.132.0/29' } } },
          controlPlane: { count: 1, cpus: 2, memoryMiB: 4096 },
          workers: { count: 1 },
        }),
        40,
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(NkdError);
    expect((error as NkdError).exitCode).toBe(ExitCode.InvalidConfig);
    expect((error as NkdError).details.join('\n')).toMatch(/with spec\.workers\.count: 40/);
  });
});
