#!/usr/bin/env node
// Entry point of the published CLI: commands are loaded from dist/ through oclif.manifest.json,
// so `--help` and `--version` never import a command module.
import { execute } from '@oclif/core';

// The short forms users try first: `nkd -v` is `nkd --version`, and `-h` is `--help` anywhere before
// a `--` (no nkd flag uses -h).
const args = process.argv.slice(2);
const end = args.indexOf('--') === -1 ? args.length : args.indexOf('--');
if (args.length === 1 && args[0] === '-v') args[0] = '--version';
for (let i = 0; i < end; i++) if (args[i] === '-h') args[i] = '--help';

await execute({ args, dir: import.meta.url });
