import type { CliCommand } from './command.ts';
import { evalCommand } from './commands/eval.ts';
import { hashCommand } from './commands/hash.ts';
import { importCommand } from './commands/import.ts';
import { infoCommand } from './commands/info.ts';
import { libraryCommand } from './commands/library.ts';
import { logsCommand } from './commands/logs.ts';
import { settingsCommand } from './commands/settings.ts';
import { classifyCommand, restoreCommand } from './commands/infer.ts';
import { modelsCommand } from './commands/models.ts';
import { pacsCommand } from './commands/pacs.ts';
import { renderCommand } from './commands/render.ts';
import { studyCommand } from './commands/study.ts';
import { trainCommand } from './commands/train.ts';

// Each sub-command lives in ./commands/<name>.ts; add it here to expose it.
export const commands: CliCommand[] = [
  restoreCommand,
  classifyCommand,
  importCommand,
  studyCommand,
  modelsCommand,
  evalCommand,
  trainCommand,
  hashCommand,
  infoCommand,
  renderCommand,
  pacsCommand,
  libraryCommand,
  settingsCommand,
  logsCommand,
];
