// The supported Kubernetes range: upstream's maintained minors, with nkd's default equal to the
// version the real-API tests run (so what a config gets by default is what was tested for real).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KUBE_VERSION,
  isSupported,
  MAX_MINOR,
  parseKubeVersion,
  supportedMinors,
  unsupportedReason,
} from '../../src/config/versions.js';

const VERSIONS_ENV = readFileSync(
  join(import.meta.dirname, '..', '..', 'scripts', 'tools', 'versions.env'),
  'utf8',
);

describe('supported Kubernetes versions', () => {
  it('default to the patch release npm run tools builds for the real-API tests, on the newest minor', () => {
    expect(/^KUBE_VERSION=(\S+)$/m.exec(VERSIONS_ENV)?.[1]).toBe(DEFAULT_KUBE_VERSION);
    expect(parseKubeVersion(DEFAULT_KUBE_VERSION)?.minor).toBe(MAX_MINOR);
  });

  it('are the three minors upstream maintains', () => {
    expect(supportedMinors()).toEqual(['v1.35', 'v1.36', 'v1.37']);
    for (const ok of ['v1.35.0', 'v1.36.3', 'v1.37.99'])
      expect(isSupported(parseKubeVersion(ok)!), ok).toBe(true);
    for (const no of ['v1.34.9', 'v1.38.0', 'v2.37.0', 'v0.37.0'])
      expect(isSupported(parseKubeVersion(no)!), no).toBe(false);
  });

  it('refuse an old minor as unmaintained and a new one as unchecked, naming the range', () => {
    expect(unsupportedReason('v1.29.1', parseKubeVersion('v1.29.1')!)).toBe(
      'v1.29.1 is not supported (upstream no longer maintains it): nkd deploys v1.35.0 to v1.37.x',
    );
    expect(unsupportedReason('v1.38.0', parseKubeVersion('v1.38.0')!)).toBe(
      'v1.38.0 is not supported (it is newer than nkd was checked against): nkd deploys v1.35.0 to v1.37.x',
    );
  });
});
