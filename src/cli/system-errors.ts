// Failures of the machine nkd runs on, not of nkd: a file it cannot read or write, a full disk, a
// cluster that refuses the connection. Exit 1 is kept for nkd's own bugs (docs/exit-codes.md), so
// every such error that reaches the command boundary is mapped here to its documented code and one
// line naming the path (or the server) and what to do.
import { KubeApiError, NETWORK_ERROR_TEXT } from '../kube/errors.js';
import { ExitCode, type ExitCodeValue } from '../errors.js';
import { capValue } from '../lib/cap.js';

export interface Classified {
  code: ExitCodeValue;
  message: string;
}

/** What each file-system error means, in words a user acts on. */
const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted (an immutable file, or not yours?)',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'is a directory, not a file',
  ENOTEMPTY: 'directory not empty',
  EEXIST: 'already exists',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files (raise `ulimit -n`)',
  ENFILE: 'too many open files on this system',
  EIO: 'input/output error',
  EBUSY: 'busy',
  EXDEV: 'cannot rename across file systems',
  EFBIG: 'file too large',
};

/** The system call, as the action it was attempting. */
const ACTIONS: Record<string, string> = {
  open: 'open',
  read: 'read',
  write: 'write',
  mkdir: 'create the directory',
  mkdtemp: 'create a directory in',
  rmdir: 'remove',
  rm: 'remove',
  unlink: 'remove',
  rename: 'rename',
  scandir: 'list',
  opendir: 'list',
  stat: 'look at',
  lstat: 'look at',
  chmod: 'change the permissions of',
  copyfile: 'copy',
  access: 'access',
  fsync: 'write',
  utime: 'update',
};

/** Connection failures of anything nkd dials (when not wrapped in a KubeApiError already). */
const NETWORK_ERRORS = NETWORK_ERROR_TEXT;

/** A file-system error code in words ("permission denied"), or the code itself when unknown. */
export function describeErrno(code: string | undefined): string {
  return (code && FILE_ERRORS[code]) ?? code ?? 'unknown error';
}

interface ErrnoLike {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  dest?: unknown;
  address?: unknown;
  port?: unknown;
}

/**
 * The documented exit code and one line for an error from the environment, or undefined when the
 * error is not one (then it is nkd's bug: exit 1).
 */
export function classifySystemError(err: Error): Classified | undefined {
  if (err instanceof KubeApiError) return classifyKubeApiError(err);
  const e = err as Error & ErrnoLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code === undefined) return classifyJsError(err);
  const meaning = FILE_ERRORS[code];
  if (meaning !== undefined) {
    const path = typeof e.path === 'string' ? capValue(e.path, 200) : undefined;
    const syscall = typeof e.syscall === 'string' ? e.syscall : undefined;
    const action = (syscall && ACTIONS[syscall]) ?? 'use';
    const dest = typeof e.dest === 'string' ? ` to ${capValue(e.dest, 200)}` : '';
    const what = path
      ? `cannot ${action} ${path}${dest}`
      : `a file operation (${syscall ?? 'unknown'}) failed`;
    const fix = code === 'ENOSPC' || code === 'EDQUOT' ? 'free some space' : 'fix it';
    return {
      code: ExitCode.State,
      message: `${what}: ${meaning} (${code}); ${fix} and run the same command again`,
    };
  }
  const network = NETWORK_ERRORS[code];
  if (network !== undefined) {
    const where =
      typeof e.address === 'string' ? ` ${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''}` : '';
    return { code: ExitCode.WaitTimeout, message: `cannot reach${where}: ${network} (${code})` };
  }
  return undefined;
}

/** The API server could not be reached or trusted (7), or refused the request (8). */
function classifyKubeApiError(err: KubeApiError): Classified {
  switch (err.kind) {
    case 'connection':
    case 'timeout':
    case 'tls':
    case 'certificate':
    case 'client-certificate':
      return {
        code: ExitCode.WaitTimeout,
        message: `cannot reach the cluster: ${capValue(err.message, 300)}; is it running? (\`nkd status\` tells more)`,
      };
    default:
      return {
        code: ExitCode.ClusterOperation,
        message: `the cluster refused the request: ${capValue(err.message, 300)}`,
      };
  }
}

/** JavaScript engine limits hit by input too large to handle (a string past V8's maximum length). */
function classifyJsError(err: Error): Classified | undefined {
  if (err instanceof RangeError && /Invalid string length|Array buffer allocation failed/.test(err.message)) {
    return {
      code: ExitCode.Usage,
      message: 'an input is too large for nkd to handle; give a smaller file or value',
    };
  }
  return undefined;
}
