// The debug log: every run writes one, whatever happens. Lines are kept in memory and written at the
// end, into the cluster's state when the run got that far, or else into the user's cache directory —
// so invalid input never creates anything under the state directory. Never give it secret values.
import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export class DebugLog {
  private readonly lines: string[] = [];
  private clusterLogDir: string | undefined;

  constructor(private readonly now: () => Date = () => new Date()) {}

  debug(message: string): void {
    this.lines.push(`${this.now().toISOString()} ${message}`);
  }

  /** From now on the log belongs to this cluster's state (the directory must exist by flush time). */
  attachToCluster(logDir: string): void {
    this.clusterLogDir = logDir;
  }

  fallbackDir(env: NodeJS.ProcessEnv = process.env): string {
    const cache =
      env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
    return join(cache, 'nkd');
  }

  /** Appends the run to the log file; returns its path, or undefined if it could not be written. */
  flush(): string | undefined {
    const dir = this.clusterLogDir ?? this.fallbackDir();
    const file = join(dir, 'nkd-debug.log');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      rotateIfLarge(file);
      appendFileSync(file, `${this.lines.join('\n')}\n`, { mode: 0o600 });
      return file;
    } catch {
      return undefined;
    }
  }
}

/** Keeps the log bounded: past 1 MiB the file becomes nkd-debug.log.1 (replacing an older one). */
const MAX_LOG_BYTES = 1024 * 1024;

function rotateIfLarge(file: string): void {
  try {
    if (statSync(file).size > MAX_LOG_BYTES) renameSync(file, `${file}.1`);
  } catch {
    // no log yet
  }
}
