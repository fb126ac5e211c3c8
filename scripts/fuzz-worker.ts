// One fuzz child: loads the seeds once, then runs the cases the parent sends, one at a time, and
// answers with the outcome and its memory. The parent's watchdog kills it if a case hangs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FuzzCase, loadSeeds, runCase } from './fuzz-cases.ts';

const send = (message: unknown) => process.send?.(message);
const seeds = await loadSeeds();
const workDir = mkdtempSync(join(tmpdir(), 'r2c-fuzz-'));
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));
process.on('disconnect', () => process.exit(0));
process.on('message', async (message: { id: number } & FuzzCase) => {
  const result = await runCase(seeds, message, workDir);
  send({ id: message.id, ...result, rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20) });
});
send({ ready: true });
