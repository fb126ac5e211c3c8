// A closed reader study's results sent back to the PACS, one SR per read image, for the CLI
// (`r2c pacs send-study-sr`) and the app (IPC pacsSendStudyReports) alike. Composed here because
// review/ and pacs/ may not import each other: review writes the SR (review/sr.ts), pacs sends it
// (per-item status, retries, idempotent by SOP Instance UID, originals refused). An image the PACS
// does not hold (imported from elsewhere) is skipped.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { saveDicom } from '../dicom/index.ts';
import type { Library } from '../library/index.ts';
import { type PacsService, type Protocol, pacsPaths, type SendItem } from '../pacs/index.ts';
import {
  closedStudyForReport,
  type ReviewStore,
  readerStudyImageResults,
  writeReaderStudyReport,
} from '../review/index.ts';
import { AppError, serializeError } from '../util/errors.ts';

export interface StudyReportItem {
  /** The reader study's image id (library instance id). */
  imageId: string;
  status: SendItem['status'] | 'not-on-pacs' | 'not-in-library';
  sopInstanceUid?: string;
  attempts?: number;
  error?: { code: string; message: string };
}

export async function sendStudyReports(options: {
  pacs: PacsService;
  connectionId: string;
  library: Library;
  review: ReviewStore;
  studyId: string;
  dataDir: string;
  protocol?: Protocol;
  signal?: AbortSignal;
  /** Each image's outcome as soon as it is known (skipped ones while writing, sent ones while sending). */
  onItem?: (item: StudyReportItem, progress: { done: number; total: number }) => void;
}): Promise<StudyReportItem[]> {
  const { exported } = closedStudyForReport(options.review, options.studyId);
  const readings = readerStudyImageResults(exported);
  if (readings.length === 0)
    throw new AppError('bad_input', `reader study ${options.studyId} has no finished case to report`);
  // The SRs carry the patient's data and are written again on every send (their UIDs are derived
  // from the study and the image, so a resend is 'already-stored'): kept only while sending.
  const staging = pacsPaths(options.dataDir).staging;
  await mkdir(staging, { recursive: true });
  const outDir = await mkdtemp(join(staging, 'reader-study-'));
  try {
    return await writeAndSend(options, readings, exported, outDir);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

async function writeAndSend(
  options: Parameters<typeof sendStudyReports>[0],
  readings: ReturnType<typeof readerStudyImageResults>,
  exported: ReturnType<typeof closedStudyForReport>['exported'],
  outDir: string,
): Promise<StudyReportItem[]> {
  const { pacs, connectionId, signal } = options;
  const items: StudyReportItem[] = [];
  const toSend: { path: string; item: StudyReportItem }[] = [];
  const done = (item: StudyReportItem) => {
    items.push(item);
    options.onItem?.(item, { done: items.length, total: readings.length });
  };
  const client = pacs.client(connectionId, options.protocol);
  try {
    for (const reading of readings) {
      if (signal?.aborted) break;
      const instanceId = Number(reading.imageId);
      let detail: ReturnType<Library['getInstance']>;
      try {
        if (!Number.isInteger(instanceId)) throw new AppError('not_found', 'not a library instance id');
        detail = options.library.getInstance(instanceId);
      } catch (error) {
        done({ imageId: reading.imageId, status: 'not-in-library', error: serializeError(error) });
        continue;
      }
      // Only images the PACS holds get a report there (results go back where the image came from).
      const { studyInstanceUid, sopInstanceUid } = detail.header;
      if (!(await client.hasInstance(studyInstanceUid, sopInstanceUid, signal))) {
        done({ imageId: reading.imageId, status: 'not-on-pacs' });
        continue;
      }
      const source = new Uint8Array(await readFile(detail.filePath));
      const written = writeReaderStudyReport(
        source,
        { id: exported.study.id, name: exported.study.name },
        reading,
      );
      const path = join(outDir, `image-${reading.imageId}.dcm`);
      await saveDicom(path, written);
      toSend.push({
        path,
        item: { imageId: reading.imageId, status: 'failed', sopInstanceUid: written.sopInstanceUid },
      });
    }
  } finally {
    await client.close();
  }
  if (toSend.length === 0) return items;
  await pacs.send(
    connectionId,
    toSend.map((s) => s.path),
    {
      ...(signal ? { signal } : {}),
      ...(options.protocol ? { protocol: options.protocol } : {}),
      onItem: (result, index) =>
        done({
          ...toSend[index]!.item,
          status: result.status,
          attempts: result.attempts,
          ...(result.error ? { error: result.error } : {}),
        }),
    },
  );
  return items;
}
