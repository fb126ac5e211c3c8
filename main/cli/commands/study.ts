import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { threadTransport } from '../../app/jobs.ts';
import { dataDir, localModelsDir, shippedModelsDir } from '../../app/paths.ts';
import { renderKitImage } from '../../app/review-pixels.ts';
import { createServices } from '../../app/services.ts';
import {
  analyseRatings,
  openReviewStore,
  parseRatingsCsv,
  presentationImage,
  type ReviewStore,
  type StudyStatistics,
  studyReportHtml,
  studyReportPdf,
  libraryKitSource,
} from '../../review/index.ts';
import { AppError } from '../../util/errors.ts';
import { type CliCommand, type CliIo, UsageError } from '../command.ts';

const usage = [
  'r2c study stats <scores.csv> [--json] [--svg-dir <dir>] [--original <variant>]',
  'r2c study list',
  'r2c study export-kit <study-id> --out <kit.zip> [--reader <id>]... [--no-sign] [--include-burned-in <image-id>]...',
  'r2c study import-kit <kit.zip>',
  'r2c study add-reader <study-id> --name <name>',
  'r2c study reader-secret <study-id> --reader <id>',
  'r2c study export-answers <study-id> --reader <id> --out <answers.json>',
  'r2c study merge <study-id> <answers.json>...',
  'r2c study report <study-id> --out <report.pdf|report.html> [--format pdf|html]',
  'r2c study close <study-id>',
  '',
  '  The owner passphrase (export-kit, merge, close, and report before close) is read from the',
  '  environment variable R2C_OWNER_PASSPHRASE or from the file given with --passphrase-file,',
  '  never from the command line. Studies are those of the data folder (R2C_DATA_DIR or the policy).',
  '  A reader secret (export-answers) likewise: R2C_READER_SECRET or --secret-file. add-reader and',
  '  reader-secret (the owner) print a generated reader secret once: give it to the reader.',
  '  report: --format, else the extension of the --out file (.pdf), else html.',
  '  export-kit refuses images that may show burned-in text (Burned In Annotation YES, or a secondary',
  '  capture without NO), naming them; --include-burned-in <library image id> puts one in after you',
  '  checked its pixels (recorded in the audit trail and the kit).',
  '',
  '  <scores.csv>     MRMC long format: reader,case,variant,truth,rating[,question] (see main/review/csv.ts)',
  '  --json           print the statistics as JSON instead of text',
  '  --html <file>    also write the HTML study report (statistics, plots, methods)',
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
        d.unavailable
          ? `  ${d.labelA} − ${d.labelB}: ${f(d.estimate, 3)}, no interval or p: ${d.unavailable}; ${d.readers} readers, ${d.cases} cases`
          : `  ${d.labelA} − ${d.labelB}: ${f(d.estimate, 3)} (95% CI ${f(d.ci95?.[0], 3)} to ${f(d.ci95?.[1], 3)}), p = ${f(d.p, 4)}, F = ${f(d.f, 3)}, df = ${f(d.df, 1)}; ${d.readers} readers, ${d.cases} cases (${d.method})`,
      );
      for (const r of d.perReader)
        lines.push(
          `    reader ${r.reader}: ${f(r.estimate, 3)}${r.ci95 ? ` (95% CI ${f(r.ci95[0], 3)} to ${f(r.ci95[1], 3)}), p = ${f(r.p, 4)}` : `, no interval (${r.stdErr === null ? 'one case' : 'the same difference on every case'})`}`,
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

function ownerPassphrase(file: string | undefined): string | undefined {
  if (file !== undefined) return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  return process.env['R2C_OWNER_PASSPHRASE'] || undefined;
}

/** The reader-study sub-commands on the data folder's studies (kits, answers, merge, report, close). */
async function studyAction(sub: string, rest: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      reader: { type: 'string', multiple: true },
      'no-sign': { type: 'boolean' },
      'passphrase-file': { type: 'string' },
      'secret-file': { type: 'string' },
      'include-burned-in': { type: 'string', multiple: true },
      name: { type: 'string' },
      format: { type: 'string' },
    },
  });
  const access = { ownerPassphrase: ownerPassphrase(values['passphrase-file']) };
  const readerSecret =
    values['secret-file'] !== undefined
      ? readFileSync(values['secret-file'], 'utf8').replace(/\r?\n$/, '')
      : process.env['R2C_READER_SECRET'] || undefined;
  const folder = dataDir();
  const needStudy = (): string => {
    const id = positionals[0];
    if (!id) throw new UsageError('give the study id (r2c study list)');
    return id;
  };
  const needOut = (): string => {
    if (!values.out) throw new UsageError('give --out <file>');
    return values.out;
  };
  if (sub === 'export-kit') {
    const studyId = needStudy();
    const out = needOut();
    const services = createServices({
      dataDir: folder,
      modelsDir: shippedModelsDir(),
      workerTransport: threadTransport,
      logSource: 'cli',
    });
    try {
      const context = {
        library: services.library,
        jobs: services.jobs,
        shippedDir: shippedModelsDir(),
        localDir: localModelsDir(folder),
      };
      const summary = await services.review.exportKit(studyId, access, out, {
        readerIds: values.reader,
        sign: !values['no-sign'],
        signal: io.signal,
        includeBurnedIn: values['include-burned-in'],
        describeImage: (imageId) => libraryKitSource(services.library, imageId),
        renderImage: (imageId, variant) =>
          renderKitImage(
            context,
            imageId,
            presentationImage({ studyId, imageId, variant }).variant,
            io.signal,
          ),
        onProgress: (done, total) => {
          if (io.isTty) io.err(`rendering image ${done} of ${total}`);
        },
      });
      io.out(
        `wrote ${out}: kit ${summary.kitId}, ${summary.readers} reader(s), ${summary.images} image(s), ${summary.bytes} bytes${summary.signed ? ', signed (Ed25519)' : ''}`,
      );
      return 0;
    } finally {
      await services.close();
    }
  }
  const review: ReviewStore = openReviewStore({ dataDir: folder });
  try {
    switch (sub) {
      case 'list':
        for (const s of review.listStudies())
          io.out(
            `${s.id}\t${s.name}\t${s.images} images, ${s.cases} cases, ${s.readers} readers${s.origin === 'kit' ? ', from a reading kit' : ''}${s.closed ? ', closed' : ''}`,
          );
        return 0;
      case 'import-kit': {
        const file = positionals[0];
        if (!file) throw new UsageError('give the kit file');
        const kit = review.importKit(file);
        io.out(
          `imported '${kit.name}' (${kit.studyId}), ${kit.images} image(s); readers: ${kit.readers.map((r) => `${r.name} (${r.id})`).join(', ')}`,
        );
        io.out(kit.signed ? `signed; signer key SHA-256 ${kit.signerFingerprint}` : 'not signed');
        return 0;
      }
      case 'export-answers': {
        const studyId = needStudy();
        const [reader] = values.reader ?? [];
        if (!reader) throw new UsageError('give --reader <id>');
        const { text, cases } = review.exportAnswers(studyId, reader, { readerSecret });
        writeAtomic(needOut(), text);
        io.out(`wrote ${values.out}: ${cases} finished case(s)`);
        return 0;
      }
      case 'merge': {
        const studyId = needStudy();
        const files = positionals.slice(1);
        if (files.length === 0) throw new UsageError('give one or more answers files');
        let failed = 0;
        for (const file of files) {
          try {
            const m = review.mergeAnswers(studyId, access, readFileSync(file, 'utf8'));
            io.out(
              `${file}: ${m.reader}: ${m.merged} case(s) merged, ${m.alreadyMerged} already merged; ${m.completed} of ${m.total} finished`,
            );
          } catch (error) {
            if (!(error instanceof AppError)) throw error;
            io.err(`${file}: refused (${error.code}): ${error.message}`);
            failed++;
          }
        }
        return failed > 0 ? 1 : 0;
      }
      case 'add-reader': {
        const studyId = needStudy();
        if (!values.name) throw new UsageError('give --name <reader name>');
        const added = review.addReader(studyId, { name: values.name }, access);
        io.out(`added ${added.name} (${added.id})`);
        if (added.secret) io.out(`reader secret (shown once): ${added.secret}`);
        return 0;
      }
      case 'reader-secret': {
        const studyId = needStudy();
        const [reader] = values.reader ?? [];
        if (!reader) throw new UsageError('give --reader <id>');
        io.out(`new reader secret (shown once): ${review.setReaderSecret(studyId, reader, access).secret}`);
        return 0;
      }
      case 'report': {
        const studyId = needStudy();
        const out = needOut();
        const format = values.format ?? (/\.pdf$/i.test(out) ? 'pdf' : 'html');
        if (format !== 'pdf' && format !== 'html') throw new UsageError('--format is pdf or html');
        const details = review.getStudy(studyId);
        const results = review.results(studyId, access);
        if (format === 'pdf') {
          const pdf = await studyReportPdf(details, results);
          const temp = `${out}.${process.pid}.tmp`;
          writeFileSync(temp, pdf, { flush: true });
          renameSync(temp, out);
        } else writeAtomic(out, studyReportHtml(details, results));
        io.out(`wrote ${out} (${format})`);
        return 0;
      }
      case 'close': {
        const closed = review.closeStudy(needStudy(), access);
        io.out(`closed '${closed.name}': results and the audit trail are open on this workstation`);
        return 0;
      }
      default:
        throw new UsageError(`unknown sub-command '${sub}'`);
    }
  } finally {
    review.close();
  }
}

export const studyCommand: CliCommand = {
  name: 'study',
  summary:
    'reader studies: statistics from an MRMC CSV (OR-MRMC, preference, agreement, plots); reading kits, merging, report',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    if (sub === undefined) throw new UsageError('no sub-command given');
    if (sub !== 'stats') return studyAction(sub, rest, io);
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        'svg-dir': { type: 'string' },
        original: { type: 'string' },
        html: { type: 'string' },
      },
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
    if (values.html) writeAtomic(values.html, studyReportHtml(null, stats, file));
    if (values.json) io.out(JSON.stringify(stats, null, 2));
    else for (const line of textReport(stats)) io.out(line);
    return 0;
  },
};
