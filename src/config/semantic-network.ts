// Checks of spec.network that the schema cannot express: the version must be one nkd bundles, and
// version/manifest only make sense with a plugin nkd installs, and not together.
import { BUNDLED_NETWORK_VERSIONS } from '../addons/network/versions.js';
import { capValue } from '../lib/cap.js';
import { error, warning, type Problem } from './problems.js';
import type { ClusterConfig } from './schema.js';

export function checkNetwork(config: ClusterConfig): Problem[] {
  const { plugin, version, manifest, sha256 } = config.spec.network;
  const path = (key: string) => ['spec', 'network', key];
  if (sha256 !== undefined && manifest === '') {
    return [error(path('sha256'), 'pins the content of spec.network.manifest, which is not set; remove it')];
  }
  if (plugin === 'none') {
    // Nothing is installed, so a version or manifest would be silently ignored.
    const problems: Problem[] = [];
    if (version !== '') {
      problems.push(
        error(path('version'), 'has no effect with plugin none; remove it or choose calico or flannel'),
      );
    }
    if (manifest !== '') {
      problems.push(
        error(
          path('manifest'),
          'has no effect with plugin none; choose calico or flannel, or apply your CNI through spec.hooks.postDeploy',
        ),
      );
    }
    return problems;
  }
  if (manifest !== '' && version !== '') {
    // The manifest replaces the bundled one, so a bundled version would say something that is not true.
    return [
      error(
        path('version'),
        'cannot be combined with manifest: the manifest is applied instead of the bundled version; remove one of them',
      ),
    ];
  }
  if (/^https:\/\//i.test(manifest) && sha256 === undefined) {
    return [
      warning(
        path('manifest'),
        'is fetched on every deploy and applied as cluster-admin with nothing pinning its content; set spec.network.sha256',
      ),
    ];
  }
  const bundled = BUNDLED_NETWORK_VERSIONS[plugin];
  if (version !== '' && !bundled.includes(version)) {
    return [
      error(
        path('version'),
        `${plugin} ${capValue(version)} is not bundled; bundled versions: ${bundled.join(', ')}`,
      ),
    ];
  }
  return [];
}
