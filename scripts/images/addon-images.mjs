// Prints the network plugin images nkd's bundled default flannel manifest pulls under MIRROR, as
// `<what> <reference> <upstream version>` lines, from nkd's own code (dist/): the names follow the mirror
// exactly as a cluster with `kubernetes.imageRepository: MIRROR` resolves them.
// Usage: node addon-images.mjs REPO MIRROR
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [repo, mirror] = process.argv.slice(2);
const load = (path) => import(pathToFileURL(join(repo, 'dist', 'src', path)).href);
const { imageResolver } = await load('config/images.js');
const versions = await load('addons/network/versions.js');
const resolve = imageResolver(mirror);
const release = versions.flannelRelease(versions.defaultNetworkVersion('flannel'));
console.log(`flannel ${resolve(`${versions.FLANNEL_IMAGE}:${release.version}`)} ${release.version}`);
console.log(
  `flannel-cni-plugin ${resolve(`${versions.FLANNEL_CNI_PLUGIN_IMAGE}:${release.cniPluginTag}`)} ${release.cniPluginTag}`,
);
