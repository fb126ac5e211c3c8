import { readFileSync } from 'node:fs';
import { type CliCommand, type CliIo, UsageError } from './command.ts';
import { commands } from './registry.ts';
import { logCommand } from './activity.ts';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function helpText(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'r2c — R2C Workstation command line (restore and classify chest X-rays, offline)',
    '',
    'Usage: r2c <command> [options]   (r2c <command> --help for details)',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(helpText());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(packageVersion());
    return 0;
  }
  const command: CliCommand | undefined = commands.find((c) => c.name === name);
  if (!command) {
    io.err(`r2c: unknown command '${name}'\n\n${helpText()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`${command.summary}\n\nUsage: ${command.usage}`);
    return 0;
  }
  try {
    const code = await command.run(rest, io);
    logCommand(command.name, rest, code);
    return code;
  } catch (error) {
    logCommand(command.name, rest, error);
    if (error instanceof UsageError) {
      io.err(`r2c ${command.name}: ${error.message}\nUsage: ${command.usage}`);
      return 2;
    }
    io.err(`r2c ${command.name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** Runs the CLI in this process (bin/r2c.js, or the app's main process started with --cli); returns the exit code. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\nr2c: stopping (Ctrl-C again to force)…\n');
    controller.abort();
  });
  const io: CliIo = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    isTty: Boolean(process.stderr.isTTY),
    signal: controller.signal,
  };
  process.exitCode = await runCli(argv, io);
  return process.exitCode;
}
