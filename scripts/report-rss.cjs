/* eslint-disable @typescript-eslint/no-require-imports, no-undef -- a CommonJS preload, on purpose */
// Preloaded into the benchmarked process (node --require): reports its peak resident memory at exit.
const { writeFileSync } = require('node:fs');
const target = process.env.NKD_BENCH_RSS_FILE;
process.on('exit', () => {
  if (target) writeFileSync(target, String(process.resourceUsage().maxRSS)); // KiB
});
