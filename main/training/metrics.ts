// The training metrics log: JSON Lines, one record per logged step, append-only during a run.
// On resume it is cut back to the checkpoint's step (atomically), so it never has gaps or repeats.
import { appendFile, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../models/index.ts';
import { lineChartSvg } from './plot.ts';

export interface MetricsRecord {
  /** Iterations completed (1-based: the record after the first iteration has step 1). */
  step: number;
  epoch: number;
  /** Learning rate used in this iteration. */
  lr: number;
  /** Generator-step losses: total and every term, as the step graph names them. */
  G: Record<string, number>;
  /** Discriminator-step losses: total and every term. */
  D: Record<string, number>;
  /** Wall time of this iteration (G step, pools, D step), without data loading waits. */
  stepSeconds: number;
  /** Training images (one poor + one good per iteration) per second of stepSeconds. */
  imagesPerSecond: number;
  time: string;
}

function isRecord(value: unknown): value is MetricsRecord {
  const r = value as MetricsRecord;
  return typeof r === 'object' && r !== null && Number.isInteger(r.step) && typeof r.G === 'object';
}

/** Parses a metrics log; torn or foreign lines (e.g. the last line of a killed run) are dropped. */
export function parseMetrics(text: string): MetricsRecord[] {
  const out: MetricsRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (isRecord(value)) out.push(value);
    } catch {
      // a line cut short by a kill; the checkpoint step decides what is kept anyway
    }
  }
  return out;
}

export async function readMetrics(path: string): Promise<MetricsRecord[]> {
  try {
    return parseMetrics(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** The log's lines up to and including `step`, as text (each record once, in step order). */
export function metricsUpTo(text: string, step: number): string {
  const seen = new Set<number>();
  const kept: string[] = [];
  for (const record of parseMetrics(text)) {
    if (record.step > step || seen.has(record.step)) continue;
    seen.add(record.step);
    kept.push(JSON.stringify(record));
  }
  return kept.map((l) => `${l}\n`).join('');
}

/** Rewrites the log (atomically) to hold only records up to `step`; returns how many were dropped. */
export async function truncateMetrics(
  path: string,
  step: number,
): Promise<{ kept: number; dropped: number }> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const kept = metricsUpTo(text, step);
  const before = text.split('\n').filter((l) => l.trim()).length;
  const after = kept.split('\n').filter((l) => l.trim()).length;
  if (kept !== text) await writeFileAtomic(path, Buffer.from(kept, 'utf8'));
  return { kept: after, dropped: before - after };
}

export async function appendMetrics(path: string, record: MetricsRecord): Promise<void> {
  await appendFile(path, `${JSON.stringify(record)}\n`);
}

const sumOf = (r: Record<string, number>, ...keys: string[]) =>
  keys.reduce((a, k) => a + (r[k] ?? Number.NaN), 0);

/** Loss curves of a run: generator total and its parts, discriminator total (log scale). */
export function lossesSvg(records: readonly MetricsRecord[], title = 'R2C-GAN training losses'): string {
  const series = (name: string, f: (r: MetricsRecord) => number) => ({
    name,
    points: records.map((r) => ({ x: r.step, y: f(r) })),
  });
  return lineChartSvg({
    title,
    xLabel: 'step',
    yLabel: 'loss (log scale)',
    logY: true,
    series: [
      series('G total', (r) => r.G['total'] ?? Number.NaN),
      // Paired runs log l1, ce and (with the GAN term) adv; R2C-GAN runs log the reference's terms.
      series('G adversarial', (r) => r.G['adv'] ?? sumOf(r.G, 'A2B_g_loss', 'B2A_g_loss')),
      series('paired L1', (r) => r.G['l1'] ?? Number.NaN),
      series('cycle L1', (r) => sumOf(r.G, 'A2B2A_cycle_loss', 'B2A2B_cycle_loss')),
      series('identity L1', (r) => sumOf(r.G, 'A2A_id_loss', 'B2B_id_loss')),
      series('class CE', (r) => r.G['ce'] ?? sumOf(r.G, 'A2B_c_loss', 'B2A_c_loss')),
      series('D total', (r) => r.D['total'] ?? Number.NaN),
    ],
  });
}
