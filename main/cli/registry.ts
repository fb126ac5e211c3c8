import type { CliCommand } from './command.ts';
import { evalCommand } from './commands/eval.ts';
import { hashCommand } from './commands/hash.ts';
import { importCommand } from './commands/import.ts';
import { infoCommand } from './commands/info.ts';
import { classifyCommand, restoreCommand } from './commands/infer.ts';
import { modelsCommand } from './commands/models.ts';
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
];
