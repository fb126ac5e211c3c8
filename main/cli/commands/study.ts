import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyseRatings, parseRatingsCsv, type StudyStatistics } from '../../review/index.ts';
import { type CliCommand, UsageError } from '../command.ts';

const usage = [
  'r2c study stats <scores.csv> [--json] [--svg-dir <dir>] [--original <variant>]',
  '',
  '  <scores.csv>     MRMC long format: reader,case,variant,truth,rating[,question] (see main/review/csv.ts)',
  '  --json           print the statistics as JSON instead of text',
  '  --svg-dir <dir>  also write the plots there (score-<question>.svg, preference-<question>.svg)',
  "  --original <id>  the unprocessed variant, for 'restored over original' (default: original)",
].join('\n');

const f = (v: number | null | undefined, digits = 2): string =>
  v === null || v === undefined ? '—' : v.toFixed(digits);
const pct = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : `${(v * 100).toFixed(1)}%`;

const interval = (ci: [number, number] | null): string => (ci ? `${f(ci[0], 3)}–${f(ci[1], 3)}` : '—');

function textReport(stats: StudyStatistics): string[] {
  const lines = [`${stats.ratings} ratings, ${stats.readers.length} readers, ${stats.cases} cases`];
  for (const q of stats.scores) {
    lines.push('', `Score question '${q.questionId}' — mean opinion score (95% CI: ${q.ciMethod})`);
    for (const v of q.perVariant)
      lines.push(
        `  ${v.label}: ${f(v.mean)} (${v.ci95 ? `${f(v.ci95[0])}–${f(v.ci95[1])}` : 'CI needs n ≥ 2'}), SD ${f(v.sd)}, n=${v.n}`,
      );
    for (const d of q.differences) {
      lines.push(
        `  ${d.labelA} − ${d.labelB}: ${f(d.estimate, 3)} (95% CI ${f(d.ci95[0], 3)} to ${f(d.ci95[1], 3)}), p = ${f(d.p, 4)}, F = ${f(d.f, 3)}, df = ${f(d.df, 1)}; ${d.readers} readers, ${d.cases} cases (${d.method})`,
      );
      for (const r of d.perReader)
        lines.push(
          `    reader ${r.reader}: ${f(r.estimate, 3)} (95% CI ${f(r.ci95[0], 3)} to ${f(r.ci95[1], 3)}), p = ${f(r.p, 4)}`,
        );
    }
    if (q.differencesNote) lines.push(`  (difference in mean score: ${q.differencesNote})`);
    const { weightedKappa, icc, alpha } = q.agreement;
    if (weightedKappa)
      for (const k of [weightedKappa.linear, weightedKappa.quadratic])
        lines.push(
          `  ${k.method}: ${f(k.kappa, 3)} (${k.band ?? 'undefined'}, ${k.bandSource}; ${k.items} items; 95% CI ${interval(k.ci95)}, ${k.ciMethod})`,
        );
    if (icc)
      lines.push(
        `  ${icc.method}: ${f(icc.icc, 3)} (${icc.band ?? 'undefined'}, ${icc.bandSource}; ${icc.items} items; 95% CI ${interval(icc.ci95)}, ${icc.ciMethod})`,
      );
    if (alpha) lines.push(`  ${alpha.method}: ${f(alpha.alpha, 3)} (${alpha.items} items)`);
  }
  for (const q of stats.preferences) {
    lines.push('', `Forced choice '${q.questionId}' — preference rate (95% CI: ${q.ciMethod})`);
    for (const c of q.comparisons) {
      lines.push(
        `  ${c.labelA} over ${c.labelB}: ${pct(c.rateA)} (${c.chosenA}/${c.n}; ${c.ci95 ? `${pct(c.ci95[0])}–${pct(c.ci95[1])}` : '—'})${c.restoredVsOriginal ? ' [restored over original]' : ''}`,
      );
      if (c.mrmc)
        lines.push(
          `    readers and cases random: ${pct(c.mrmc.estimate)} (95% CI ${pct(c.mrmc.ci95[0])}–${pct(c.mrmc.ci95[1])}, df ${f(c.mrmc.df, 1)}; ${c.mrmc.readers} readers, ${c.mrmc.cases} cases; ${c.mrmc.method})`,
        );
    }
    if (q.agreement)
      lines.push(
        `  ${q.agreement.method}: ${f(q.agreement.kappa, 3)} (${q.agreement.band ?? 'undefined'}; ${q.agreement.items} items)`,
      );
    if (q.alpha) lines.push(`  ${q.alpha.method}: ${f(q.alpha.alpha, 3)} (${q.alpha.items} items)`);
  }
  for (const q of stats.choices) {
    lines.push('', `Categorical '${q.questionId}' — rate of '${q.firstOption}' (95% CI: ${q.ciMethod})`);
    for (const v of q.perVariant)
      lines.push(
        `  ${v.label ?? 'per case'}: ${pct(v.firstOptionRate)} (${v.ci95 ? `${pct(v.ci95[0])}–${pct(v.ci95[1])}` : '—'}), counts ${Object.entries(
          v.counts,
        )
          .map(([k, n]) => `${k}=${n}`)
          .join(' ')}`,
      );
    if (q.agreement)
      lines.push(
        `  ${q.agreement.method}: ${f(q.agreement.kappa, 3)} (${q.agreement.band ?? 'undefined'}; ${q.agreement.items} items)`,
      );
    if (q.alpha) lines.push(`  ${q.alpha.method}: ${f(q.alpha.alpha, 3)} (${q.alpha.items} items)`);
  }
  return lines;
}

function writeAtomic(path: string, text: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, text, { flush: true });
  renameSync(temp, path);
}

const safeName = (id: string): string => id.replace(/[^A-Za-z0-9_.-]/g, '_');

export const studyCommand: CliCommand = {
  name: 'study',
  summary: 'reader-study statistics from an MRMC long-format CSV (MOS, preference, agreement, plots)',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub !== 'stats')
      throw new UsageError(sub === undefined ? 'no sub-command given' : `unknown sub-command '${sub}'`);
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, 'svg-dir': { type: 'string' }, original: { type: 'string' } },
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one CSV file');
    const file = positionals[0]!;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      io.err(`r2c study: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      return 1;
    }
    const { rows, meta } = parseRatingsCsv(text, values.original ? { originalVariant: values.original } : {});
    const stats = analyseRatings(rows, meta);
    if (values['svg-dir']) {
      const dir = values['svg-dir'];
      mkdirSync(dir, { recursive: true });
      for (const q of stats.scores) {
        writeAtomic(join(dir, `score-${safeName(q.questionId)}.svg`), q.svg);
        if (q.differenceSvg)
          writeAtomic(join(dir, `difference-${safeName(q.questionId)}.svg`), q.differenceSvg);
      }
      for (const q of stats.preferences)
        writeAtomic(join(dir, `preference-${safeName(q.questionId)}.svg`), q.svg);
    }
    if (values.json) io.out(JSON.stringify(stats, null, 2));
    else for (const line of textReport(stats)) io.out(line);
    return 0;
  },
};
