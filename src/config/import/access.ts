// username/password/sshKey → spec.access. nkd logs in with SSH keys only, so the password hash is
// dropped, and the key file's contents (not its path) go into the config: the config then works on
// any machine, and public keys are not secrets.
import { isAbsolute, resolve } from 'node:path';
import { given, type ConvertContext } from './context.js';
import { toDnsLabel } from './names.js';
import type { OriginalConfig } from './original.js';

export function convertAccess(
  original: OriginalConfig,
  ctx: ConvertContext,
): { user?: string; sshAuthorizedKeys: string[] } {
  let user: string | undefined;
  const username = given(original.username);
  if (username === 'root') {
    // nkd's admin user gets sudo through wheel; an SSH-reachable root account is what it avoids.
    ctx.warn(
      'username',
      'root is not carried over: nkd creates its own admin user (spec.access.user, default "nest") with sudo rights',
    );
  } else if (username !== undefined) {
    const label = toDnsLabel(username, 63);
    if (label === '') {
      ctx.warn('username', `"${username}" cannot be a user name; nkd's default admin user "nest" is used`);
    } else {
      if (label !== username)
        ctx.warn('username', `"${username}" becomes "${label}" (lowercase letters, digits and "-")`);
      user = label;
      ctx.from('spec.access.user', 'username');
    }
  }
  if (given(original.password) !== undefined) {
    ctx.warn(
      'password',
      'dropped: a password hash for the node user; nkd allows SSH key logins only (spec.access.sshAuthorizedKeys)',
    );
  }
  const keyPath = given(original.sshKey);
  if (keyPath === undefined) {
    ctx.warn(
      'sshKey',
      'is not set; add your public key to spec.access.sshAuthorizedKeys to be able to log in',
    );
  }
  // Written even when empty: an explicit [] shows where the key goes.
  const sshAuthorizedKeys = keyPath === undefined ? [] : readKeys(keyPath, ctx);
  ctx.from('spec.access.sshAuthorizedKeys', 'sshKey');
  // nkd warns about an empty key list at spec.access; that is the same thing as the sshKey warning.
  ctx.from('spec.access', 'sshKey');
  return user === undefined ? { sshAuthorizedKeys } : { user, sshAuthorizedKeys };
}

function readKeys(keyPath: string, ctx: ConvertContext): string[] {
  const file = isAbsolute(keyPath) ? keyPath : resolve(ctx.options.sourceDir, keyPath);
  const text = ctx.options.readFile(file);
  if (text === undefined) {
    ctx.warn('sshKey', `cannot read ${file}; add its public key to spec.access.sshAuthorizedKeys yourself`);
    return [];
  }
  if (text.includes('PRIVATE KEY')) {
    // Never copy a private key anywhere; the .pub next to it is what belongs in the config.
    ctx.warn(
      'sshKey',
      `${file} is a private key; add the public key (its .pub) to spec.access.sshAuthorizedKeys`,
    );
    return [];
  }
  const keys = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (keys.length === 0) {
    ctx.warn('sshKey', `${file} holds no key; add your public key to spec.access.sshAuthorizedKeys`);
  }
  return keys;
}
