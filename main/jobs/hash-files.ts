import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { cancelledError } from '../util/errors.ts';
import type { JobContext } from './types.ts';

export interface HashFilesInput {
  paths: string[];
}
export type HashedFile = { path: string; size: number; sha256: string } | { path: string; error: string };
export interface HashFilesOutput {
  files: HashedFile[];
}

/** SHA-256 of each file, streamed; one unreadable file does not stop the others. */
export async function hashFiles(input: HashFilesInput, context: JobContext): Promise<HashFilesOutput> {
  const sizes = await Promise.all(
    input.paths.map((p) =>
      stat(p).then(
        (s) => (s.isFile() ? s.size : -1),
        () => -1,
      ),
    ),
  );
  const total = sizes.reduce((sum, s) => sum + Math.max(s, 0), 0);
  let done = 0;
  const files: HashedFile[] = [];
  for (const [index, path] of input.paths.entries()) {
    if (context.signal.aborted) throw cancelledError('hashing');
    if (sizes[index] === -1) {
      files.push({ path, error: 'not a readable file' });
      continue;
    }
    try {
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of createReadStream(path, { signal: context.signal })) {
        const bytes = chunk as Buffer;
        hash.update(bytes);
        size += bytes.length;
        done += bytes.length;
        context.progress({ done, total, message: `file ${index + 1} of ${input.paths.length}` });
      }
      files.push({ path, size, sha256: hash.digest('hex') });
    } catch (error) {
      if (context.signal.aborted) throw cancelledError('hashing');
      files.push({ path, error: error instanceof Error ? error.message : String(error) });
    }
  }
  context.progress({ done: total, total });
  return { files };
}
