// Writing the user's kubeconfig (`nkd kubeconfig --merge`): it holds the cluster's admin credentials,
// so the new content goes through an exclusive 0600 temporary file (an unpredictable name, O_EXCL,
// never through a link another user planted), is fsynced, then renamed over the file; the previous
// content is kept, 0600, as FILE.nkd-backup.
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsError, lstatOrUndefined, makeDirs, writeFileAtomic } from '../state/safe-fs.js';

export function backupPath(target: string): string {
  return `${target}.nkd-backup`;
}

/**
 * Replaces `target` with `text`, keeping `previous` (its former content, if any) in the backup file.
 * A target that is a link (a user's own arrangement) is written where it points. Returns the backup's path.
 */
export function writeKubeconfigFile(target: string, text: string, previous: string): string | undefined {
  let file = target;
  if (lstatOrUndefined(target)?.isSymbolicLink()) {
    try {
      file = realpathSync(target);
    } catch (err) {
      throw fsError(err, 'write', target);
    }
  }
  const dir = dirname(file);
  makeDirs(dir, dir);
  let backup: string | undefined;
  if (previous !== '') {
    backup = backupPath(file);
    writeFileAtomic(backup, previous, { fsync: true });
  }
  writeFileAtomic(file, text, { fsync: true });
  return backup;
}
