// Prints the replace directives of a go.mod as "old<TAB>target<TAB>targetVersion<TAB>required" lines
// (targetVersion "-" for local paths: bash read collapses empty tab-separated fields; required 1 when the module also appears in a require
// directive). Local replaces of modules that are not required are guards (etcd's FORBIDDEN_DEPENDENCY)
// and the wrapper leaves them out. Handles the single-line and the block forms.
import { readFileSync } from 'node:fs';

function directives(text, keyword) {
  const lines = [];
  let inBlock = false;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (!line) continue;
    if (inBlock) {
      if (line === ')') inBlock = false;
      else lines.push(line);
    } else if (line === `${keyword} (`) inBlock = true;
    else if (line.startsWith(`${keyword} `)) lines.push(line.slice(keyword.length + 1));
  }
  return lines;
}

const text = readFileSync(process.argv[2], 'utf8');
const required = new Set(directives(text, 'require').map((l) => l.split(/\s+/)[0]));
for (const l of directives(text, 'replace')) {
  const [left, right] = l.split('=>').map((s) => s.trim().split(/\s+/));
  console.log([left[0], right[0], right[1] ?? '-', required.has(left[0]) ? '1' : '0'].join('\t'));
}
