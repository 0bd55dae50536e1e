import { defineConfig } from 'vitest/config';
import base from './vitest.config';

/**
 * `npm run test:long`: the long durability runs, kept out of `npm test` because they take minutes. Not mergeConfig:
 * it would append to the base config's exclude list, which excludes test/long.
 */
export default defineConfig({
  test: { ...base.test, include: ['test/long/**/*.test.ts'], exclude: ['node_modules/**'], testTimeout: 60 * 60_000 },
});
