import type { KeyPath } from './locate.js';

export type Severity = 'error' | 'warning';

/** A problem found in a config, before it is tied to a file position. */
export interface Problem {
  path: KeyPath;
  message: string;
  severity: Severity;
  /** When set, the problem is about the key `keyOf` inside the map at `path` (points at the key). */
  keyOf?: string;
}

export function error(path: KeyPath, message: string): Problem {
  return { path, message, severity: 'error' };
}

export function warning(path: KeyPath, message: string): Problem {
  return { path, message, severity: 'warning' };
}
