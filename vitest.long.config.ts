import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config';

/** `npm run test:long`: the long durability runs, kept out of `npm test` because they take minutes. */
export default mergeConfig(
  base,
  defineConfig({ test: { include: ['test/long/**/*.test.ts'], exclude: ['node_modules/**'], testTimeout: 30 * 60_000 } }),
);
