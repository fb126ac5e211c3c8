// Runs every bench/*.bench.ts (or those named on the command line) and writes one JSON file per
// run to bench/results/, with the machine described so numbers are never read without context.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, platform, arch, release } from 'node:os';
import { basename, join } from 'node:path';
import type { BenchModule } from './types.ts';

const dir = new URL('.', import.meta.url).pathname;
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  platform: `${platform()}-${arch()} ${release()}`,
  node: process.version,
};
const results: Record<string, unknown> = {};
for (const file of files) {
  const name = basename(file, '.bench.ts');
  process.stderr.write(`bench ${name}…\n`);
  const mod = (await import(join(dir, file))) as BenchModule;
  results[name] = await mod.default({ log: (line) => process.stderr.write(`  ${line}\n`) });
}
const report = { date: new Date().toISOString(), machine, results };
mkdirSync(join(dir, 'results'), { recursive: true });
const out = join(dir, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report, null, 2)}\nwritten to ${out}\n`);
