import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dataDir } from '../../app/paths.ts';
import { type LogEntry, type LogLevel, openActivityLog } from '../../settings/index.ts';
import { type CliCommand, parseUsage, UsageError } from '../command.ts';

const levels: LogLevel[] = ['info', 'warn', 'error'];

export const logsCommand: CliCommand = {
  name: 'logs',
  summary: 'Show or export the activity log (imports, analyses, model changes, exports, deletions, errors)',
  usage:
    'r2c logs [--limit <n>] [--level info|warn|error] [--event <name>] [--json] [--export <file>]\n' +
    '  --limit <n>      newest n entries (default 50)\n' +
    '  --level <level>  only entries of this level\n' +
    '  --event <name>   only this event (e.g. import, analysis, model, export, library.delete, error)\n' +
    '  --json           one JSON object per line, as stored\n' +
    '  --export <file>  write every kept line (oldest first, JSON lines) to <file>\n' +
    'The log holds no patient data: ids are hashed, paths in error messages replaced by hashes.',
  async run(argv, io) {
    const { values } = parseUsage(() => parse(argv));
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
    const level = values.level as LogLevel | undefined;
    if (level !== undefined && !levels.includes(level))
      throw new UsageError(`--level must be one of ${levels.join(', ')}`);
    const log = openActivityLog({ dataDir: dataDir(), source: 'cli' });
    if (values.export) {
      const text = log.exportText();
      writeFileSync(values.export, text, { flag: 'wx' });
      log.info('export', { what: 'activity log' });
      io.err(`${text.split('\n').filter(Boolean).length} log lines written to ${values.export}`);
      return 0;
    }
    const entries = log.read({ limit, level, event: values.event }).reverse();
    if (entries.length === 0) io.err(`no log entries in ${log.dir}`);
    for (const entry of entries) io.out(values.json ? JSON.stringify(entry) : formatEntry(entry));
    return 0;
  },
};

export function formatEntry(entry: LogEntry): string {
  const { time, level, event, source, pid: _pid, ...rest } = entry;
  const details = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level.padEnd(5)} ${source.padEnd(3)} ${event}${details ? `  ${details}` : ''}`;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      limit: { type: 'string' },
      level: { type: 'string' },
      event: { type: 'string' },
      json: { type: 'boolean' },
      export: { type: 'string' },
    },
  });
}
