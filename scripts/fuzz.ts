// `npm run fuzz`: ≥ 10,000 mutated inputs across the header, decode, render, model-input and zip
// paths (scripts/fuzz-cases.ts), each run in a pool of child processes with a per-case watchdog:
// a case that hangs is killed and counted, a child that dies (abort, out of memory) is counted and
// replaced. Writes a JSON summary (machine noted) to bench/results/fuzz-<date>.json and exits 1 on
// any failure, hang or death. Options: --cases N (10000), --workers N (2), --timeout-ms N (30000),
// --out FILE, --repro target:seed:case (run one case here and print it).
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type FuzzCase,
  type FuzzOutcome,
  type FuzzTarget,
  fuzzTargets,
  loadSeeds,
  runCase,
  seedsFor,
} from './fuzz-cases.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
    'timeout-ms': { type: 'string', default: '30000' },
    out: { type: 'string' },
    repro: { type: 'string' },
  },
});

if (values.repro) {
  const [target, seed, number] = values.repro.split(':');
  const c = { target: target as FuzzTarget, seed: Number(seed), case: Number(number) };
  const dir = mkdtempSync(join(tmpdir(), 'r2c-fuzz-repro-'));
  try {
    process.stdout.write(`${JSON.stringify(await runCase(await loadSeeds(), c, dir), null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const totalCases = Number(values.cases);
const workerCount = Math.max(1, Number(values.workers));
const timeoutMs = Number(values['timeout-ms']);
/** Share of the cases per target (render and model-input are the slow ones). */
const weights: Record<FuzzTarget, number> = { header: 3, decode: 3, render: 1.5, 'model-input': 1.5, zip: 2 };

const seeds = await loadSeeds();
const cases: FuzzCase[] = [];
const weightSum = Object.values(weights).reduce((a, b) => a + b, 0);
for (const target of fuzzTargets) {
  const n = Math.round((totalCases * weights[target]) / weightSum);
  const seedCount = seedsFor(seeds, target).length;
  for (let i = 0; i < n; i++) cases.push({ target, seed: i % seedCount, case: Math.floor(i / seedCount) });
}
// Interleave targets so a slow target does not bunch up at the end.
cases.sort(
  (a, b) =>
    a.case - b.case || a.seed - b.seed || fuzzTargets.indexOf(a.target) - fuzzTargets.indexOf(b.target),
);

interface Tally {
  cases: number;
  accepted: number;
  rejected: number;
  failed: number;
  hung: number;
  died: number;
  rejectedBy: Record<string, number>;
}
const byTarget = Object.fromEntries(
  fuzzTargets.map((t) => [
    t,
    { cases: 0, accepted: 0, rejected: 0, failed: 0, hung: 0, died: 0, rejectedBy: {} },
  ]),
) as Record<FuzzTarget, Tally>;
const problems: { case: string; kind: string; what?: string; detail: string }[] = [];
let maxRssMiB = 0;
let done = 0;
const started = Date.now();
const workerEntry = fileURLToPath(new URL('./fuzz-worker.ts', import.meta.url));

function record(
  c: FuzzCase,
  result: FuzzOutcome | { outcome: 'hung' | 'died'; what?: string; detail: string },
) {
  const tally = byTarget[c.target];
  tally.cases += 1;
  done += 1;
  const id = `${c.target}:${c.seed}:${c.case}`;
  if (result.outcome === 'accepted') tally.accepted += 1;
  else if (result.outcome === 'rejected') {
    tally.rejected += 1;
    // Group by the message's first words (numbers dropped) to show what kinds of rejection occur.
    const key = result.message
      .replace(/^.*?: /, '')
      .replace(/\d+/g, 'N')
      .slice(0, 60);
    tally.rejectedBy[key] = (tally.rejectedBy[key] ?? 0) + 1;
  } else if (result.outcome === 'failed') {
    tally.failed += 1;
    problems.push({ case: id, kind: 'failed', what: result.what, detail: result.error });
  } else {
    tally[result.outcome] += 1;
    problems.push({ case: id, kind: result.outcome, what: result.what, detail: result.detail });
  }
  if (done % 500 === 0)
    process.stderr.write(
      `fuzz: ${done}/${cases.length} cases, ${problems.length} problems, ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
}

let next = 0;
async function runWorker(): Promise<void> {
  while (next < cases.length) {
    const child = fork(workerEntry, [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=2048'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    const ok = await new Promise<boolean>((resolve) => {
      child.once('message', () => resolve(true));
      child.once('exit', () => resolve(false));
    });
    if (!ok) throw new Error(`fuzz worker did not start: ${stderr}`);
    // Feed this child until it dies or hangs; then the loop starts a fresh one.
    while (next < cases.length) {
      const c = cases[next++]!;
      const result = await runInChild(child, c, () => stderr);
      record(c, result);
      if (result.outcome === 'hung' || result.outcome === 'died') break;
    }
    child.kill('SIGKILL');
  }
}

function runInChild(
  child: ChildProcess,
  c: FuzzCase,
  stderr: () => string,
): Promise<FuzzOutcome | { outcome: 'hung' | 'died'; detail: string }> {
  return new Promise((resolve) => {
    const id = next;
    const watchdog = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      resolve({ outcome: 'hung', detail: `no answer within ${timeoutMs} ms; child killed` });
    }, timeoutMs);
    const onMessage = (message: FuzzOutcome & { id: number; rssMiB: number }) => {
      if (message.id !== id) return;
      cleanup();
      maxRssMiB = Math.max(maxRssMiB, message.rssMiB);
      resolve(message);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      resolve({
        outcome: 'died',
        detail: `child exited (code ${code}, signal ${signal}): ${stderr().slice(-500)}`,
      });
    };
    const cleanup = () => {
      clearTimeout(watchdog);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.send({ id, ...c });
  });
}

process.stderr.write(
  `fuzz: ${cases.length} cases on ${workerCount} child processes, watchdog ${timeoutMs} ms\n`,
);
await Promise.all(Array.from({ length: workerCount }, runWorker));

const summary = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${platform()}-${arch()} ${release()}`,
    node: process.version,
  },
  cases: done,
  workers: workerCount,
  timeoutMs,
  durationS: Math.round((Date.now() - started) / 100) / 10,
  maxWorkerRssMiB: maxRssMiB,
  totals: {
    accepted: Object.values(byTarget).reduce((n, t) => n + t.accepted, 0),
    rejected: Object.values(byTarget).reduce((n, t) => n + t.rejected, 0),
    failed: Object.values(byTarget).reduce((n, t) => n + t.failed, 0),
    hung: Object.values(byTarget).reduce((n, t) => n + t.hung, 0),
    died: Object.values(byTarget).reduce((n, t) => n + t.died, 0),
  },
  byTarget,
  problems,
};
const out =
  values.out ??
  join(
    fileURLToPath(new URL('../bench/results/', import.meta.url)),
    `fuzz-${summary.date.replace(/[:.]/g, '-')}.json`,
  );
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
process.stdout.write(
  `${JSON.stringify({ ...summary, byTarget: undefined, problems: problems.slice(0, 20) }, null, 2)}\nwritten to ${out}\n`,
);
process.exit(problems.length > 0 ? 1 : 0);
