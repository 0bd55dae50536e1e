// Lint is where workflow determinism is enforced: workflow code is replayed from history, so it must not
// touch the clock, the file system, the network or any library that does.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const forbiddenInWorkflows = [
  'fs', 'fs/promises', 'path', 'child_process', 'os', 'crypto', 'net', 'http', 'https', 'worker_threads',
  'simple-git', '@anthropic-ai/sdk', 'proper-lockfile', 'pino', '@temporalio/activity', '@temporalio/worker',
  '@temporalio/client',
].flatMap((name) => [name, `node:${name}`]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'bench/out/**', 'test/fixtures/**', 'bin/**', 'scripts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: forbiddenInWorkflows.map((name) => ({ name, message: 'Workflow code must stay deterministic: do this in an activity.' })),
        patterns: [{ group: ['../activities/*', '../client/*', '../workers/*'], allowTypeImports: true, message: 'Workflows import activities only as types.' }],
      }],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() in a loop.' },
        { name: 'process', message: 'Workflow code has no process.' }],
    },
  },
);
