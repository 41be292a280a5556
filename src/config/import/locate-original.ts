// Import problems name keys of the original file; users look them up by position, as validate prints
// them: FILE:LINE:COL. Keys the reader normalized (hardwareinfo → hardwareInfo) are matched regardless of
// case; a key that is not in the file points at its nearest existing parent.
import { LineCounter, parseDocument } from 'yaml';
import { locate, parseKeyPath } from '../locate.js';
import type { ImportProblem } from './original.js';

export function locateImportProblems(text: string, problems: readonly ImportProblem[]): ImportProblem[] {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: false });
  return problems.map((p) => {
    if (p.line !== undefined) return p;
    const { line, col } = locate(doc, counter, parseKeyPath(p.path));
    return { ...p, line, col };
  });
}
