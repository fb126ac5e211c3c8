import { parseArgs } from 'node:util';
import { libraryDerivedFiles } from '../../app/derived-files.ts';
import { dataDir } from '../../app/paths.ts';
import { openStudyImages } from '../../app/services.ts';
import { type DeleteTarget, type LibraryLevel, openLibrary } from '../../library/index.ts';
import { openReviewStore } from '../../review/index.ts';
import { openSettings, resolveWorkstation } from '../../settings/index.ts';
import { type CliCommand, parseUsage, UsageError } from '../command.ts';

const levels: LibraryLevel[] = ['patient', 'study', 'series', 'instance'];

export const libraryCommand: CliCommand = {
  name: 'library',
  summary: 'Delete studies, series or images from the library, or apply the retention period',
  usage:
    'r2c library delete (--patient|--study|--series|--instance) <id>... [--yes] [--json]\n' +
    'r2c library retention [--dry-run] [--days <n>] [--json]\n' +
    '  delete      removes the items with their store copies and analyses (referenced originals stay);\n' +
    '              images of an open reader study are refused. Without --yes only says what would go.\n' +
    '  retention   removes what was imported more than the retention period ago (the effective\n' +
    '              setting; --days overrides it unless the admin policy fixes it)\n' +
    'Ids are the library ids the app shows (study, series, instance).',
  async run(argv, io) {
    const { values, positionals } = parseUsage(() => parse(argv));
    const [action, ...rest] = positionals;
    if (action !== 'delete' && action !== 'retention') throw new UsageError("give 'delete' or 'retention'");
    const workstation = resolveWorkstation();
    const folder = dataDir();
    const review = openReviewStore({ dataDir: folder });
    const library = openLibrary({
      dataDir: folder,
      protectedInstances: () => openStudyImages(review),
      derivedFiles: libraryDerivedFiles(folder),
    });
    try {
      if (action === 'delete') {
        const given = levels.filter((l) => values[l] !== undefined);
        if (given.length !== 1)
          throw new UsageError('give exactly one of --patient, --study, --series, --instance');
        const level = given[0]!;
        const ids = [String(values[level]), ...rest].map((text) => {
          const id = Number(text);
          if (!Number.isInteger(id) || id < 1) throw new UsageError(`'${text}' is not a library id`);
          return id;
        });
        const targets: DeleteTarget[] = ids.map((id) => ({ level, id }));
        if (!values.yes) {
          io.err(
            `would delete ${ids.length} ${level}(s) ${ids.join(', ')} from ${library.dataDir}; run again with --yes`,
          );
          return 1;
        }
        const removed = library.delete(targets);
        if (values.json) io.out(JSON.stringify(removed));
        else
          io.out(
            `deleted ${removed.instances} image(s), ${removed.series} series, ${removed.studies} study(ies), ` +
              `${removed.patients} patient(s); ${removed.storeFiles} stored file(s) (${removed.bytes} bytes) and ` +
              `${removed.resultFolders} analysis folder(s) removed`,
          );
        return 0;
      }
      if (rest.length > 0) throw new UsageError(`unexpected '${rest[0]}'`);
      const settings = openSettings(workstation).get();
      let days = settings.retentionDays.value;
      if (values.days !== undefined) {
        if (settings.retentionDays.source === 'policy')
          throw new UsageError(
            `the retention period is fixed by the policy file (${settings.policyFile.path})`,
          );
        days = Number(values.days);
        if (!Number.isInteger(days) || days < 1) throw new UsageError('--days must be a positive integer');
      }
      if (days === null) {
        io.err('retention is off: no retention period is set (settings, policy file or --days)');
        return 1;
      }
      const summary = library.applyRetention({ days, dryRun: values['dry-run'] === true });
      if (values.json) io.out(JSON.stringify({ days, ...summary }));
      else
        io.out(
          `${summary.dryRun ? 'would remove' : 'removed'} ${summary.dryRun ? summary.due : summary.removed.instances} ` +
            `image(s) imported before ${summary.cutoff} (${days} days); ${summary.kept} kept for open reader studies`,
        );
      return 0;
    } finally {
      await library.close();
      review.close();
    }
  },
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      patient: { type: 'string' },
      study: { type: 'string' },
      series: { type: 'string' },
      instance: { type: 'string' },
      yes: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      days: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
}
