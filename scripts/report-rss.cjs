/* eslint-disable @typescript-eslint/no-require-imports, no-undef -- a CommonJS preload, on purpose */
// Preloaded into the benchmarked process (node --require): reports its peak resident memory (KiB) and
// the CPU time it used (ms) at exit, so the benchmark can tell nkd's own work from waiting on the disk.
const { writeFileSync } = require('node:fs');
const target = process.env.NKD_BENCH_RSS_FILE;
process.on('exit', () => {
  if (!target) return;
  const usage = process.resourceUsage();
  const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
  writeFileSync(target, JSON.stringify({ maxRssKiB: usage.maxRSS, cpuMs }));
});
