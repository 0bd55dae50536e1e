#!/usr/bin/env node
// The `cadre` command: runs the built CLI (npm run build, done by `npm run setup`).
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const built = join(__dirname, '..', 'dist', 'client', 'main.js');
if (!existsSync(built)) {
  process.stderr.write('cadre: not built yet: run `npm run setup` (or `npm run build`) in ' + join(__dirname, '..') + '\n');
  process.exit(69);
}
require(built).main();
