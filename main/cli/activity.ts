// The CLI's side of the activity log: commands that analyse, change models or export, and every
// failure. Only the command and sub-command names are recorded, never arguments (paths, names).
// Imports, deletions and retention runs are recorded by the library itself.
import { dataDir } from '../app/paths.ts';
import { openActivityLog } from '../settings/index.ts';
import { UsageError } from './command.ts';

const events: Record<string, string> = {
  restore: 'analysis',
  classify: 'analysis',
  train: 'model',
  eval: 'model',
  models: 'model',
  study: 'study',
};

export function logCommand(name: string, argv: string[], outcome: number | unknown): void {
  const sub = argv[0] !== undefined && /^[a-z][a-z-]{0,30}$/.test(argv[0]) ? argv[0] : null;
  const event = sub?.includes('export') ? 'export' : events[name];
  const failed = typeof outcome !== 'number';
  if (!event && !failed) return;
  if (outcome instanceof UsageError) return; // a typo on the command line is not an activity
  try {
    const log = openActivityLog({ dataDir: dataDir(), source: 'cli' });
    const fields = { command: name, subcommand: sub };
    if (failed) log.error('error', outcome, fields);
    else log.info(event ?? `cli.${name}`, { ...fields, exitCode: outcome as number });
  } catch {
    // no data folder (e.g. a bad policy file): the command's own message says why
  }
}
