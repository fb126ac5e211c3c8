// The installed app carries the CLI: `r2c` (resources/bin) runs the app's binary with --cli, and the
// main process hands everything after it to the command line before creating any window. Separate
// from main.ts (no electron import) so it can be tested under plain Node.

export const CLI_FLAG = '--cli';

/** The command line's arguments when the app was started as the CLI, else null. */
export function cliArguments(argv: readonly string[]): string[] | null {
  const at = argv.indexOf(CLI_FLAG);
  return at === -1 ? null : argv.slice(at + 1);
}
