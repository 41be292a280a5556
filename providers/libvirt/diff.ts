// Shared helpers of the operations: comparing inputs for diff, and recognising objects nkd made.
import type { DiffResult } from './types.js';
import { xmlText } from './virsh.js';

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * Compares the given input keys of the old outputs and the new inputs. Keys in `replaceKeys` that
 * changed become replacements; any other changed key only counts as a change, which the kind's
 * `update` must then apply.
 */
export function diffKeys<O extends object, I extends object>(
  olds: O,
  news: I,
  keys: ReadonlyArray<keyof I & keyof O & string>,
  replaceKeys: ReadonlyArray<keyof I & keyof O & string>,
): DiffResult {
  const changed = keys.filter((k) => !same(olds[k], news[k]));
  return result(
    changed,
    changed.filter((k) => replaceKeys.includes(k)),
  );
}

export function result(changed: readonly string[], replaces: readonly string[]): DiffResult {
  return {
    changes: changed.length > 0 || replaces.length > 0,
    replaces: [...replaces],
    deleteBeforeReplace: replaces.length > 0,
  };
}

/**
 * An existing object with our name is adopted only when it carries the UUID nkd derives from that name
 * (names.objectUuid): it was made by an earlier, interrupted create. Anything else is someone else's.
 */
export function assertOwned(what: string, name: string, existingXml: string, uuid: string): void {
  const found = xmlText(existingXml, 'uuid');
  if (found !== uuid) {
    throw new Error(
      `a ${what} named "${name}" already exists and was not made by nkd (uuid ${found ?? 'unknown'}, ` +
        `expected ${uuid}); remove it or choose another cluster name`,
    );
  }
}

/** Runs `undo` (ignoring its failure) when `step` fails, then rethrows: a create leaves nothing half-made. */
export async function orUndo<T>(step: () => Promise<T>, undo: () => Promise<unknown>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    await undo().catch(() => undefined);
    throw error;
  }
}

/** Awaits `p`, swallowing the errors `ok` accepts (e.g. "not found" during delete). */
export async function tolerate(p: Promise<unknown>, ok: (error: unknown) => boolean): Promise<void> {
  try {
    await p;
  } catch (error) {
    if (!ok(error)) throw error;
  }
}

/**
 * What `read` reports for an object that no longer exists in libvirt: an empty id, so a refresh drops
 * it from the state and the next deploy creates it again (drift repaired, not ignored).
 */
export function gone<O>(): { id: string; props: O } {
  return { id: '', props: {} as O };
}
