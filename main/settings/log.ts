// The activity log: what the app and the CLI did (imports, analyses, model changes, exports, deletions,
// errors) as JSON lines in <dataDir>/logs/, rotated by size. It never holds patient data: ids are
// hashed with a per-workstation key, and paths and quoted text in error messages are replaced by
// hashes. Written with appendFileSync rather than a logging library (pino, rotating-file-stream):
// the app and the CLI append to the same file from different processes, a line must be on disk
// before the process goes on (a crash right after a deletion still leaves its audit line), and
// those libraries rotate per process through async streams.
import { createHmac, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { AppError, serializeError } from '../util/errors.ts';

export type LogLevel = 'info' | 'warn' | 'error';
export type LogValue = string | number | boolean | null | LogValue[] | { [key: string]: LogValue };

export interface LogEntry {
  time: string;
  level: LogLevel;
  /** e.g. 'import', 'analysis', 'model.install', 'export', 'library.delete', 'retention', 'error'. */
  event: string;
  /** 'app' or 'cli'. */
  source: string;
  pid: number;
  [field: string]: LogValue;
}

export interface ActivityLogOptions {
  /** The data folder: the log lives in <dataDir>/logs, its hashing key in <dataDir>/logs/.key. */
  dataDir: string;
  source: 'app' | 'cli' | 'test';
  /** Size at which the current file is rotated (default 5 MiB). */
  maxBytes?: number;
  /** Files kept, the current one included (default 5). */
  keep?: number;
}

export const logFileName = 'r2c.jsonl';

export interface ActivityLog {
  readonly dir: string;
  /** Appends one line; never throws (a full disk must not stop an import), reports on stderr instead. */
  write(level: LogLevel, event: string, fields?: Record<string, LogValue>): void;
  info(event: string, fields?: Record<string, LogValue>): void;
  /** An error: its code and its message with paths and quoted text hashed. */
  error(event: string, error: unknown, fields?: Record<string, LogValue>): void;
  /** A keyed hash of an identifier (UID, library id, path): the same id gives the same hash on this workstation. */
  hash(value: string | number): string;
  /** Entries newest first, across rotated files. */
  read(query?: { limit?: number; level?: LogLevel; event?: string }): LogEntry[];
  /** The log files, oldest first. */
  files(): string[];
  /** Every kept line, oldest first (JSON lines), for an export. */
  exportText(): string;
}

// A path runs to the next ': ', separator or quote (it may hold spaces, as names in folder names do):
// over-hashing a message is safe, leaking part of a path is not.
const pathPattern = /(?<=^|[\s(=])(?:[A-Za-z]:[\\/]|\\\\|\/)[^'"`;,()\n]*?(?=: |[;,'"`()\n]|$)/g;
const quotedPattern = /'[^']*'|"[^"]*"|`[^`]*`/g;

export function openActivityLog(options: ActivityLogOptions): ActivityLog {
  const dir = join(options.dataDir, 'logs');
  const current = join(dir, logFileName);
  const maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
  const keep = Math.max(1, options.keep ?? 5);
  const rotated = (n: number) => join(dir, `r2c.${n}.jsonl`);
  let key: Buffer | undefined;

  const hashKey = (): Buffer => {
    if (key) return key;
    const keyPath = join(dir, '.key');
    try {
      mkdirSync(dir, { recursive: true });
      try {
        // Group-readable: a policy data folder is shared by the users of a group.
        writeFileSync(keyPath, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o640 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const read = Buffer.from(readFileSync(keyPath, 'utf8').trim(), 'hex');
      if (read.length < 16) throw new Error('key too short');
      key = read;
    } catch {
      // Unreadable or damaged key: hashes stay one-way, only not comparable with other processes'.
      key = randomBytes(32);
    }
    return key;
  };
  const hash = (value: string | number) =>
    `h:${createHmac('sha256', hashKey()).update(String(value)).digest('hex').slice(0, 16)}`;

  const scrub = (message: string) =>
    message
      .replace(quotedPattern, (q) => `'${hash(q.slice(1, -1))}'`)
      .replace(pathPattern, (p) => `<path ${hash(p)}>`);

  const rotate = () => {
    rmSync(rotated(keep - 1), { force: true });
    for (let n = keep - 2; n >= 1; n--) {
      try {
        renameSync(rotated(n), rotated(n + 1));
      } catch {
        // not there yet (or another process moved it first)
      }
    }
    if (keep > 1) renameSync(current, rotated(1));
    else rmSync(current, { force: true });
  };

  const write = (level: LogLevel, event: string, fields: Record<string, LogValue> = {}) => {
    const line = `${JSON.stringify({
      time: new Date().toISOString(),
      level,
      event,
      source: options.source,
      pid: process.pid,
      ...fields,
    })}\n`;
    try {
      mkdirSync(dir, { recursive: true });
      let size = 0;
      try {
        size = statSync(current).size;
      } catch {
        // no file yet
      }
      if (size > 0 && size + Buffer.byteLength(line) > maxBytes) {
        try {
          rotate();
        } catch {
          // another process rotated at the same moment
        }
      }
      appendFileSync(current, line, { mode: 0o660 });
    } catch (error) {
      process.stderr.write(`r2c: cannot write the activity log in ${dir}: ${error}\n`);
    }
  };

  const files = () => {
    const names = new Set(safeReaddir(dir));
    const out: string[] = [];
    for (let n = keep - 1; n >= 1; n--) if (names.has(`r2c.${n}.jsonl`)) out.push(rotated(n));
    if (names.has(logFileName)) out.push(current);
    return out;
  };

  return {
    dir,
    write,
    info: (event, fields) => write('info', event, fields),
    error(event, error, fields = {}) {
      const { code, message } = serializeError(error);
      write('error', event, { ...fields, code, message: scrub(message) });
    },
    hash,
    read(query = {}) {
      const limit = query.limit ?? 500;
      if (!Number.isInteger(limit) || limit < 1 || limit > 100000)
        throw new AppError('bad_input', 'limit must be an integer from 1 to 100000');
      const out: LogEntry[] = [];
      for (const file of files().reverse()) {
        const lines = readLines(file);
        for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
          const entry = parseLine(lines[i]!);
          if (!entry) continue;
          if (query.level && entry.level !== query.level) continue;
          if (query.event && entry.event !== query.event && !entry.event.startsWith(`${query.event}.`))
            continue;
          out.push(entry);
        }
        if (out.length >= limit) break;
      }
      return out;
    },
    files,
    exportText: () =>
      files()
        .map((f) =>
          readLines(f)
            .map((l) => `${l}\n`)
            .join(''),
        )
        .join(''),
  };
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
  } catch {
    return [];
  }
}

function parseLine(line: string): LogEntry | undefined {
  try {
    const entry = JSON.parse(line) as LogEntry;
    return typeof entry.event === 'string' && typeof entry.time === 'string' ? entry : undefined;
  } catch {
    return undefined; // a line torn by a crash
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
