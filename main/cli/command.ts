/** One `r2c <name>` sub-command. Commands write results to `io.out`, diagnostics to `io.err`. */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** True when stderr is an interactive terminal (progress bars only then). */
  isTty: boolean;
  /** Aborted on Ctrl-C; long commands stop cleanly and save what they must. */
  signal: AbortSignal;
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Returns the process exit code: 0 success, 1 some inputs failed, 2 usage error. */
  run(argv: string[], io: CliIo): Promise<number>;
}

/** Thrown for bad command-line usage; printed with the command's usage text, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Runs a command's argument parser; what it refuses is a usage error (exit 2 with the usage text). */
export function parseUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
