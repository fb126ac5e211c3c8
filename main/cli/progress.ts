import type { CliIo } from './command.ts';

/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */
export function progressBar(io: CliIo, label: string) {
  let last = 0;
  return {
    update(done: number, total: number, detail = '') {
      if (!io.isTty) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 24;
      const filled = total > 0 ? Math.round((width * done) / total) : 0;
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      process.stderr.write(`\r${label} ${bar} ${done}/${total} ${detail}`.slice(0, 200).padEnd(80));
    },
    finish() {
      if (io.isTty) process.stderr.write('\r'.padEnd(81) + '\r');
    },
  };
}
