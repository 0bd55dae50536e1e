// Lint is where workflow determinism is enforced: workflow code is replayed from history, so it must not
// touch the clock, the file system, the network or any library that does.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

// Every Node builtin (with and without the node: prefix) and every library that does I/O.
const forbiddenInWorkflows = [
  ...builtinModules.flatMap((name) => (name.startsWith('node:') ? [name] : [name, `node:${name}`])),
  'simple-git', '@anthropic-ai/sdk', '@modelcontextprotocol/sdk', 'proper-lockfile', 'pino', '@temporalio/activity',
  '@temporalio/worker', '@temporalio/client', '@temporalio/testing',
];

/** The determinism rules: for workflow code and for src/shared, which workflows import. */
const deterministic = {
  '@typescript-eslint/no-restricted-imports': ['error', {
    paths: forbiddenInWorkflows.map((name) => ({ name, message: 'Workflow code must stay deterministic: do this in an activity.' })),
    patterns: [
      // `../activities`, `../../activities/x`, …: activities are imported only as types (proxyActivities<Activities>).
      { regex: '(^|/)(activities|client|workers|node)(/|$)', allowTypeImports: true, message: 'Workflows import activities (and other Node-side code) only as types.' },
      { group: ['node:*'], message: 'Workflow code must stay deterministic: no Node builtins.' },
    ],
  }],
  'no-restricted-syntax': ['error',
    { selector: 'ImportExpression', message: 'No dynamic import() in deterministic code: the bundle must be static.' },
    { selector: "CallExpression[callee.name='require']", message: 'No require() in deterministic code.' },
    { selector: "MemberExpression[object.name=/^(globalThis|window|global|self)$/][property.name=/^(setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|clearImmediate|queueMicrotask|process|fetch)$/]", message: 'No timers or I/O through globalThis: use sleep() from @temporalio/workflow.' },
  ],
  'no-restricted-globals': ['error',
    ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask'].map((name) => ({ name, message: 'Use sleep() or condition() from @temporalio/workflow.' })),
    { name: 'process', message: 'Workflow code has no process.' },
    { name: 'require', message: 'No require() in deterministic code.' },
    { name: 'fetch', message: 'No network in deterministic code: do this in an activity.' },
    { name: 'Buffer', message: 'No Buffer in deterministic code.' }],
};

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
  // Workflow code, and src/shared (imported by workflows, so it must be just as deterministic and pure).
  { files: ['src/workflows/**/*.ts', 'src/shared/**/*.ts'], rules: deterministic },
);
