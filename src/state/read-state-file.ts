// Reading nkd's own JSON files back from the state directory. They can be damaged outside nkd (a full
// disk, an editor, a copy cut short): that is a state problem (exit 4) named by its path, never an
// internal error, and never a parser message quoting the file's content (some hold secrets).
import { readFileSync } from 'node:fs';
import { ExitCode, NkdError } from '../errors.js';

export interface StateFileSpec<T> {
  /** What to do when the file is damaged, e.g. "run `nkd deploy -f <config>` again to rewrite it". */
  remedy: string;
  /** A shape check of the parsed value: returns what is wrong, or undefined when it is usable. */
  check?: (value: unknown) => string | undefined;
  /** Only for the type: the value once checked. */
  readonly _type?: T;
}

/** The parsed file, or undefined when it does not exist. */
export function readStateFile<T>(file: string, spec: StateFileSpec<T>): T | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err; // classified at the command boundary, with the path
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message quotes the content around the error: say only where.
    const why = text.trim() === '' ? 'is empty' : 'is not valid JSON (damaged or cut short)';
    throw new NkdError(`${file} ${why}; ${spec.remedy}`, ExitCode.State);
  }
  const wrong =
    typeof value !== 'object' || value === null || Array.isArray(value)
      ? 'is not a JSON object'
      : spec.check?.(value);
  if (wrong !== undefined) throw new NkdError(`${file} ${wrong}; ${spec.remedy}`, ExitCode.State);
  return value as T;
}

/** A shape check: each named key must hold a value of the given kind. */
export function requireKeys(
  kinds: Record<string, 'string' | 'object' | 'array' | 'number'>,
): (value: unknown) => string | undefined {
  return (value) => {
    const record = value as Record<string, unknown>;
    for (const [key, kind] of Object.entries(kinds)) {
      const v = record[key];
      const ok =
        kind === 'array'
          ? Array.isArray(v)
          : kind === 'object'
            ? typeof v === 'object' && v !== null && !Array.isArray(v)
            : typeof v === kind;
      if (!ok) return `has no valid "${key}" (${kind})`;
    }
    return undefined;
  };
}
