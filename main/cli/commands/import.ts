import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultDataDir, type ImportSummary, openLibrary } from '../../library/index.ts';
import { loadPolicy } from '../../settings/index.ts';
import { type CliCommand, parseUsage, UsageError } from '../command.ts';
import { progressBar } from '../progress.ts';

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Import DICOM files, folders, DICOMDIRs, zip archives and PNG/JPEG/TIFF images into the library',
  usage:
    'r2c import <paths...> [--library <dir>] [--reference] [--json]\n' +
    '  --library <dir>  library data folder (default: $R2C_DATA_DIR or the per-user data folder)\n' +
    '  --reference      record files where they are instead of copying them into the library\n' +
    '  --json           print the summary as JSON',
  async run(argv, io) {
    const { values, positionals } = parseUsage(() => parse(argv));
    if (positionals.length === 0) throw new UsageError('no paths given');
    // A data folder fixed by the admin's policy is the only library (retention and deletion apply there).
    const policy = loadPolicy();
    if (
      values.library !== undefined &&
      policy.policy.dataDir !== undefined &&
      resolve(values.library) !== resolve(policy.policy.dataDir)
    )
      throw new UsageError(`--library: the data folder is fixed by the policy file ${policy.location.path}`);
    const dataDir = values.library ?? defaultDataDir();
    const library = openLibrary({ dataDir });
    const bar = values.json ? undefined : progressBar(io, 'importing');
    let summary: ImportSummary;
    try {
      summary = await library.importPaths(positionals, {
        mode: values.reference ? 'reference' : 'copy',
        signal: io.signal,
        onProgress: bar && ((p) => bar.update(p.done, p.total, p.total === 0 ? (p.message ?? '') : '')),
      });
    } finally {
      bar?.finish();
      await library.close();
    }
    if (values.json) {
      io.out(JSON.stringify({ library: library.dataDir, ...summary }));
    } else {
      for (const failure of summary.failed) io.err(`${failure.path}: ${failure.reason}`);
      io.out(
        `${summary.cancelled ? 'Import cancelled. ' : ''}${summary.added} added, ${summary.duplicates} ` +
          `already in the library, ${summary.failed.length} failed (of ${summary.total}) — library ${library.dataDir}`,
      );
    }
    if (summary.cancelled) return 130;
    return summary.failed.length > 0 ? 1 : 0;
  },
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      library: { type: 'string' },
      reference: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
}
