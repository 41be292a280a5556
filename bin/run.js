#!/usr/bin/env node
// Entry point of the published CLI: commands are loaded from dist/ through oclif.manifest.json,
// so `--help` and `--version` never import a command module.

// Ctrl-C while the command loads: nothing has been written yet. The command replaces this handler
// with its own (src/cli/interrupt.ts) as it starts. oclif is imported after this, dynamically: a static
// import would load it (most of the start-up time) before the handler exists.
process.on('SIGINT', function nkdEarlyInterrupt() {
  process.stderr.write('\nnkd: interrupted; run the same command again to resume\n');
  process.exit(130);
});

// The short forms users try first: `nkd -v` is `nkd --version`, and `-h` is `--help` anywhere before
// a `--` (no nkd flag uses -h).
const args = process.argv.slice(2);
const end = args.indexOf('--') === -1 ? args.length : args.indexOf('--');
if (args.length === 1 && args[0] === '-v') args[0] = '--version';
for (let i = 0; i < end; i++) if (args[i] === '-h') args[i] = '--help';

const { execute } = await import('@oclif/core');
await execute({ args, dir: import.meta.url });
