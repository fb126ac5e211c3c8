#!/usr/bin/env node
// tsc emits only JavaScript: the data files the main process reads beside its modules (e.g.
// inference/chest-appearance.json, read through import.meta.url) are copied into out/main as well.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = join(root, 'main');
let copied = 0;
for (const entry of readdirSync(source, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.json')) continue;
  const from = join(entry.parentPath ?? entry.path, entry.name);
  const to = join(root, 'out', 'main', relative(source, from));
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  copied++;
}
console.log(`copied ${copied} data file(s) into out/main`);
