// What every part of the conversion writes to: problems about the original file, and where each nkd
// key came from, so that a value nkd rejects is reported at the original key that holds it.
import type { ImportProblem } from './original.js';

export interface ConvertOptions {
  /** Absolute directory of the imported file: its relative paths (sshKey, osPath, hooks) start here. */
  sourceDir: string;
  /** Absolute directory the converted config will live in: relative paths are rebased onto it. */
  outputDir: string;
  /** Reads a local file (the sshKey public key); undefined when it cannot be read. */
  readFile: (absolutePath: string) => string | undefined;
}

export class ConvertContext {
  readonly problems: ImportProblem[] = [];
  /** nkd key path (as formatKeyPath prints it) → original key path. */
  readonly provenance = new Map<string, string>();

  constructor(readonly options: ConvertOptions) {}

  warn(path: string, message: string): void {
    this.problems.push({ path, message, severity: 'warning' });
  }

  fail(path: string, message: string): void {
    this.problems.push({ path, message, severity: 'error' });
  }

  from(nkdPath: string, originalPath: string): void {
    this.provenance.set(nkdPath, originalPath);
  }
}

/** A trimmed, non-empty string, or undefined: the original wrote unset values as "". */
export function given(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/**
 * The original nkd key path for a problem at `nkdPath`: the longest recorded prefix wins, so
 * spec.controlPlane.hosts[1].ip finds master[1].ip before it finds master.
 */
export function originOf(provenance: ReadonlyMap<string, string>, nkdPath: string): string | undefined {
  let best: string | undefined;
  for (const key of provenance.keys()) {
    const covers = nkdPath === key || nkdPath.startsWith(`${key}.`) || nkdPath.startsWith(`${key}[`);
    if (covers && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : provenance.get(best);
}
