// Prints the node_modules packages a package needs at run time (itself and its dependencies,
// transitively) that sit at the top of node_modules, one per line. A dependency installed nested
// inside its dependent's own node_modules is copied with that dependent and is not listed.
// Usage: node deps.mjs REPO NAME...
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [repo, ...names] = process.argv.slice(2);
const top = (name) => join(repo, 'node_modules', name);
const seen = new Set();
const queue = names.map((name) => ({ name, from: undefined }));
while (queue.length > 0) {
  const { name, from } = queue.shift();
  // Node resolves from the dependent's own node_modules first.
  if (from && existsSync(join(top(from), 'node_modules', name))) continue;
  if (seen.has(name)) continue;
  if (!existsSync(join(top(name), 'package.json'))) {
    throw new Error(`deps: ${name} (needed by ${from ?? 'the housekeeper'}) is not installed`);
  }
  seen.add(name);
  const pkg = JSON.parse(readFileSync(join(top(name), 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: name });
}
console.log([...seen].sort().join('\n'));
