#!/usr/bin/env node
// Node 20's test runner cannot glob, so we collect *.test.ts ourselves and run them under tsx.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('--'));
const searchRoots = roots.length > 0 ? roots : ['test'];
const files = [];
for (const root of searchRoots) {
  if (root.endsWith('.test.ts')) {
    files.push(root);
    continue;
  }
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const full = join(entry.parentPath ?? entry.path, entry.name);
    if (entry.isFile() && entry.name.endsWith('.test.ts') && !full.includes(`${join('test', 'e2e')}`))
      files.push(full);
  }
}
files.sort();
if (files.length === 0) {
  console.error(`no test files under ${searchRoots.join(', ')}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...passThrough, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
