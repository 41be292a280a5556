// `npm run bench:housekeeper`: the Housekeeper-at-scale benchmark (scale.bench.ts) alone, never part of
// `npm test` (it starts a real control plane with a thousand kwok nodes and runs for minutes).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['scripts/bench-housekeeper/scale.bench.ts'],
    disableConsoleIntercept: true,
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
    pool: 'forks',
  },
});
