#!/usr/bin/env node
// The Housekeeper operator and node agent (the container image's entrypoint).
import { main } from '../dist/src/housekeeper/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`nkd-housekeeper: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
