import { parseArgs } from 'node:util';
import { type ImportSummary, openLibrary } from '../../library/index.ts';
import { type CliCommand, parseUsage, UsageError } from '../command.ts';
import { commandDataDir } from '../data-folder.ts';
import { progressBar } from '../progress.ts';

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Import DICOM files, folders, DICOMDIRs, zip archives and PNG/JPEG/TIFF images into the library',
  usage:
    'r2c import <paths...> [--library <dir>] [--reference] [--json]\n' +
    "  --library <dir>  library data folder (default: the policy's data folder, else $R2C_DATA_DIR, else the per-user folder)\n" +
    '  --reference      record files where they are instead of copying them into the library\n' +
    '  --json           print the summary as JSON',
  async run(argv, io) {
    const { values, positionals } = parseUsage(() => parse(argv));
    if (positionals.length === 0) throw new UsageError('no paths given');
    // A data folder fixed by the admin's policy is the only library (retention and deletion apply there).
    const dataDir = commandDataDir(values.library);
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
