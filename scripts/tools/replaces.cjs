// Prints the replace directives of a go.mod as "old<TAB>target<TAB>targetVersion" lines (version empty
// for local paths). Handles the single-line and the block form; ignores version-qualified left sides'
// versions, which the wrapper does not need.
const fs = require('node:fs');
const text = fs.readFileSync(process.argv[2], 'utf8');
const lines = [];
let inBlock = false;
for (const raw of text.split('\n')) {
  const line = raw.replace(/\/\/.*$/, '').trim();
  if (!line) continue;
  if (inBlock) {
    if (line === ')') inBlock = false;
    else lines.push(line);
  } else if (line === 'replace (') inBlock = true;
  else if (line.startsWith('replace ')) lines.push(line.slice('replace '.length));
}
for (const l of lines) {
  const [left, right] = l.split('=>').map((s) => s.trim().split(/\s+/));
  console.log([left[0], right[0], right[1] ?? ''].join('\t'));
}
