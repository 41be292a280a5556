// join-tokens.json: the bootstrap tokens minted for nodes added to a running cluster (scale.ts decides
// when; this is only where they are kept and how they are read back).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isJsonObject, readStateJsonSync } from '../state/files.js';
import type { ClusterPaths } from '../state/paths.js';

export interface JoinToken {
  token: string;
  expires: string;
  nodes: string[];
}

export function joinTokensPath(paths: ClusterPaths): string {
  return join(paths.root, 'join-tokens.json');
}

function isJoinTokenFile(v: unknown): v is { entries: JoinToken[] } {
  return (
    isJsonObject(v) &&
    Array.isArray(v.entries) &&
    v.entries.every(
      (e) =>
        isJsonObject(e) &&
        typeof e.token === 'string' &&
        typeof e.expires === 'string' &&
        Array.isArray(e.nodes) &&
        e.nodes.every((n) => typeof n === 'string'),
    )
  );
}

/** Every token minted so far, oldest first (none when the file does not exist). */
export function readJoinTokenEntries(paths: ClusterPaths): JoinToken[] {
  const file = joinTokensPath(paths);
  return existsSync(file)
    ? readStateJsonSync(file, 'the scale-out join tokens', isJoinTokenFile).entries
    : [];
}
