import type { CliCommand } from './command.ts';
import { hashCommand } from './commands/hash.ts';

// Each sub-command lives in ./commands/<name>.ts; add it here to expose it.
export const commands: CliCommand[] = [hashCommand];
