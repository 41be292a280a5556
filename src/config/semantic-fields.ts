// Single-field checks that need more than a regular expression: keys, image references, paths.
import { capValue } from '../lib/cap.js';
import { error, warning, type Problem } from './problems.js';
import type { ClusterConfig } from './schema.js';

const PUBLIC_KEY =
  /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const IMAGE_REF =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

export function checkAccess(config: ClusterConfig): Problem[] {
  const keys = config.spec.access.sshAuthorizedKeys;
  const problems: Problem[] = [];
  keys.forEach((key, i) => {
    const path = ['spec', 'access', 'sshAuthorizedKeys', i];
    if (key.includes('PRIVATE KEY')) {
      problems.push(error(path, 'is a private key; give the public key (the .pub file) instead'));
    } else if (!PUBLIC_KEY.test(key.trim())) {
      problems.push(
        error(path, 'is not an OpenSSH public key (expected e.g. "ssh-ed25519 AAAA... comment")'),
      );
    }
  });
  if (keys.length === 0) {
    problems.push(
      warning(['spec', 'access'], 'no sshAuthorizedKeys: nobody will be able to log in to the nodes'),
    );
  }
  return problems;
}

export function checkReleaseImage(config: ClusterConfig): Problem[] {
  const image = config.spec.os.releaseImage;
  if (image === '' || IMAGE_REF.test(image)) return [];
  return [
    error(
      ['spec', 'os', 'releaseImage'],
      `"${capValue(image)}" is not a container image reference (e.g. registry.example/nestos:1.30)`,
    ),
  ];
}

/** The Housekeeper image runs on every node: a malformed reference would fail only after deploy. */
export function checkHousekeeperImage(config: ClusterConfig): Problem[] {
  const image = config.spec.housekeeper.image;
  if (image === '' || IMAGE_REF.test(image)) return [];
  return [
    error(
      ['spec', 'housekeeper', 'image'],
      `"${capValue(image)}" is not a container image reference (e.g. registry.example/nkd/housekeeper:0.1.0)`,
    ),
  ];
}
