import { parseArgs } from 'node:util';
import { type AppJobs, threadTransport } from '../../app/jobs.ts';
import { createJobRunner } from '../../jobs/runner.ts';
import { type CliCommand, UsageError } from '../command.ts';

export const hashCommand: CliCommand = {
  name: 'hash',
  summary: 'SHA-256 of files (e.g. to check a model file against its model card)',
  usage: 'r2c hash <files...> [--json]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean' } },
    });
    if (positionals.length === 0) throw new UsageError('no files given');
    const runner = createJobRunner<AppJobs>(threadTransport);
    try {
      const { files } = await runner.run('hashFiles', { paths: positionals }, { signal: io.signal });
      let failed = 0;
      for (const file of files) {
        if ('error' in file) failed += 1;
        if (values.json) io.out(JSON.stringify(file));
        else if ('error' in file) io.err(`${file.path}: ${file.error}`);
        else io.out(`${file.sha256}  ${file.path}`);
      }
      return failed > 0 ? 1 : 0;
    } finally {
      await runner.close();
    }
  },
};
