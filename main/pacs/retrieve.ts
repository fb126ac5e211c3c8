// Retrieval into the library. Instances are staged in <dataDir>/pacs/staging/<study key>/, each checked
// (parses as DICOM, the SOP Instance UID the PACS listed) and renamed into place only when complete;
// the library import runs only when every listed instance is staged. A dropped connection or a cancel
// leaves the staged instances for the next try (resume), and nothing in the library.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readDicomHeader } from '../dicom/index.ts';
import type { JobProgress } from '../jobs/types.ts';
import type { ImportSummary, Library } from '../library/index.ts';
import { AppError, cancelledError } from '../util/errors.ts';
import type { PacsClient } from './client.ts';
import type { InstanceRef } from './query.ts';

export interface RetrieveTarget {
  studyInstanceUid: string;
  seriesInstanceUid?: string;
}

export interface StagedStudy {
  dir: string;
  /** Verified Part 10 files, one per listed instance. */
  files: { path: string; ref: InstanceRef }[];
  /** Instances found already staged by an earlier, interrupted try. */
  resumed: number;
}

export function stagingDir(stagingRoot: string, target: RetrieveTarget): string {
  const key = createHash('sha256')
    .update(`${target.studyInstanceUid}|${target.seriesInstanceUid ?? ''}`)
    .digest('hex')
    .slice(0, 24);
  return join(stagingRoot, key);
}

/** Reads a staged or received file and checks it is the instance expected. */
async function verify(path: string, expected?: string): Promise<{ sopInstanceUid: string }> {
  const bytes = new Uint8Array(await readFile(path));
  let header: ReturnType<typeof readDicomHeader>;
  try {
    header = readDicomHeader(bytes);
  } catch (error) {
    throw new AppError(
      'integrity',
      `a retrieved instance is not a readable DICOM file: ${(error as Error).message}`,
    );
  }
  if (expected && header.sopInstanceUid !== expected)
    throw new AppError('integrity', 'a retrieved instance has another SOP Instance UID than the PACS listed');
  return { sopInstanceUid: header.sopInstanceUid };
}

const stagedName = (sopInstanceUid: string) => `${sopInstanceUid}.dcm`;

/** Stages every instance of a study (or series); resumes what an earlier try left. */
export async function stageStudy(options: {
  client: PacsClient;
  stagingRoot: string;
  target: RetrieveTarget;
  signal?: AbortSignal;
  onProgress?: (progress: JobProgress) => void;
  /** Stage only the listed instances this keeps (the watch loop: instances not seen before). */
  only?: (ref: InstanceRef) => boolean;
  /** Called with every instance the PACS lists, before anything is staged. */
  onListed?: (listed: InstanceRef[]) => void;
}): Promise<StagedStudy> {
  const { client, target, signal } = options;
  const dir = stagingDir(options.stagingRoot, target);
  await mkdir(dir, { recursive: true });
  const all = await client.listInstances(target.studyInstanceUid, target.seriesInstanceUid, signal);
  if (all.length === 0)
    throw new AppError('not_found', 'the PACS lists no instances for this study (or series)');
  options.onListed?.(all);
  const listed = options.only ? all.filter(options.only) : all;
  // A whole study (or series) goes in one C-GET/C-MOVE only when all of it is wanted.
  const whole = listed.length === all.length;
  const present = new Set((await readdir(dir)).filter((f) => f.endsWith('.dcm')));
  const missing = listed.filter((ref) => !present.has(stagedName(ref.sopInstanceUid)));
  const resumed = listed.length - missing.length;
  let done = resumed;
  const total = listed.length;
  const progress = () => options.onProgress?.({ done, total, message: `${done} of ${total} instances` });
  progress();

  if (client.dicomweb) {
    for (const ref of missing) {
      if (signal?.aborted) throw cancelledError('retrieving from the PACS');
      const bytes = await client.dicomweb.retrieveInstance(ref, signal);
      const part = join(dir, `${stagedName(ref.sopInstanceUid)}.part`);
      await writeFile(part, bytes);
      await verify(part, ref.sopInstanceUid);
      await rename(part, join(dir, stagedName(ref.sopInstanceUid)));
      done++;
      progress();
    }
  } else if (client.dimse && missing.length > 0) {
    // A whole study (or series) in one association; after an interruption, the missing instances one by one.
    const receiving = await mkdtemp(join(dir, 'receiving-'));
    const dimse = client.dimse;
    const counter = setInterval(() => {
      void readdir(receiving)
        .then((files) => {
          options.onProgress?.({
            done: resumed + files.length,
            total,
            message: `${resumed + files.length} of ${total} instances`,
          });
        })
        .catch(() => {});
    }, 500);
    try {
      if (resumed === 0 && whole) await dimse.retrieveInto(receiving, target, signal);
      else
        for (const ref of missing) {
          if (signal?.aborted) throw cancelledError('retrieving from the PACS');
          await dimse.retrieveInto(
            receiving,
            { ...target, seriesInstanceUid: ref.seriesInstanceUid, sopInstanceUid: ref.sopInstanceUid },
            signal,
          );
        }
      const wanted = new Set(missing.map((r) => r.sopInstanceUid));
      for (const file of await readdir(receiving)) {
        const { sopInstanceUid } = await verify(join(receiving, file));
        if (!wanted.has(sopInstanceUid)) continue;
        await rename(join(receiving, file), join(dir, stagedName(sopInstanceUid)));
        done++;
      }
      progress();
    } finally {
      clearInterval(counter);
      await rm(receiving, { recursive: true, force: true });
    }
  }
  const staged = new Set((await readdir(dir)).filter((f) => f.endsWith('.dcm')));
  const absent = listed.filter((ref) => !staged.has(stagedName(ref.sopInstanceUid)));
  if (absent.length > 0)
    throw new AppError(
      'integrity',
      `${absent.length} of ${total} instances did not arrive from the PACS; nothing was imported (retry to resume)`,
    );
  return {
    dir,
    files: listed.map((ref) => ({ path: join(dir, stagedName(ref.sopInstanceUid)), ref })),
    resumed,
  };
}

/** Imports a complete staging folder into the library, then removes it. */
export async function importStaged(
  library: Library,
  staged: StagedStudy,
  signal?: AbortSignal,
): Promise<ImportSummary> {
  const summary = await library.importPaths(
    staged.files.map((f) => f.path),
    { mode: 'copy', signal },
  );
  if (!summary.cancelled && summary.failed.length === 0)
    await rm(staged.dir, { recursive: true, force: true });
  return summary;
}

export interface RetrieveResult {
  studyInstanceUid: string;
  seriesInstanceUid?: string;
  instances: number;
  resumed: number;
  added: number;
  duplicates: number;
  failed: { path: string; reason: string }[];
}

/** Stage, verify, import: the retrieve of one study or series. */
export async function retrieveIntoLibrary(options: {
  client: PacsClient;
  library: Library;
  stagingRoot: string;
  target: RetrieveTarget;
  signal?: AbortSignal;
  onProgress?: (progress: JobProgress) => void;
}): Promise<RetrieveResult> {
  const staged = await stageStudy(options);
  if (options.signal?.aborted) throw cancelledError('retrieving from the PACS');
  const summary = await importStaged(options.library, staged, options.signal);
  if (summary.cancelled) throw cancelledError('importing the retrieved study');
  return {
    studyInstanceUid: options.target.studyInstanceUid,
    ...(options.target.seriesInstanceUid ? { seriesInstanceUid: options.target.seriesInstanceUid } : {}),
    instances: staged.files.length,
    resumed: staged.resumed,
    added: summary.added,
    duplicates: summary.duplicates,
    failed: summary.failed.map((f) => ({ path: f.path, reason: f.reason })),
  };
}

export const hasStaging = (stagingRoot: string, target: RetrieveTarget) =>
  existsSync(stagingDir(stagingRoot, target));
