// Department throughput of `r2c pacs watch`: studies per hour per node against a real Orthanc
// (loopback, DICOMweb), each study one CR chest radiograph (440x440 px shared file, copied with new
// UIDs): poll, retrieve (WADO-RS, staged and verified), restore + classify with the default model in
// the job worker, import into the library, send SC + SR back (STOW-RS, checked first by QIDO-RS).
// A second pass with a pass-through processor (the same SC/SR writers, no model) isolates the PACS
// and bookkeeping cost from inference.
//
// `npm run bench pacs` writes bench/results/<date>.json. PACS_BENCH_STUDIES=n (default 8).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AppJobs, threadTransport } from '../main/app/jobs.ts';
import { localModelsDir, shippedModelsDir } from '../main/app/paths.ts';
import {
  decodeFrame,
  readDicomHeader,
  saveDicom,
  toModelInput,
  writeClassificationReport,
  writeDerivedImage,
} from '../main/dicom/index.ts';
import { createJobRunner } from '../main/jobs/runner.ts';
import { openLibrary } from '../main/library/index.ts';
import { createPacsService, memorySecretStore, type ProcessImages, processWith } from '../main/pacs/index.ts';
import { tempDir } from '../test/main/library/fixtures.ts';
import { orthancMissing, startOrthanc } from '../test/main/pacs/orthanc.ts';
import type { BenchContext } from './types.ts';

const chest = new URL('../../shared/data/dicom/dwv/gdcm-CR-MONO1-10-chest.dcm', import.meta.url).pathname;

export default async function bench(context: BenchContext): Promise<Record<string, unknown>> {
  const missing = orthancMissing();
  if (missing) return { skipped: missing };
  const count = Number(process.env.PACS_BENCH_STUDIES ?? 8);
  const work = tempDir('pacs-bench');
  const orthanc = await startOrthanc();
  const runner = createJobRunner<AppJobs>(threadTransport);
  try {
    const upload = async (prefix: string) => {
      const dir = join(work.path, prefix);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < count; i++) {
        const file = join(dir, `${i}.dcm`);
        copyFileSync(chest, file);
        chmodSync(file, 0o644);
        spawnSync('dcmodify', ['-nb', '-gst', '-gse', '-gin', file]);
        spawnSync('dcmodify', ['-nb', '-i', `PatientID=${prefix}${i}`, '-i', 'StudyDate=20260201', file]);
        await orthanc.upload(readFileSync(file));
      }
    };
    const run = async (name: string, process: ProcessImages, patientId: string) => {
      const dataDir = join(work.path, `node-${name}`);
      const library = openLibrary({ dataDir });
      const pacs = createPacsService({
        dataDir,
        library,
        secrets: memorySecretStore({ orthanc: orthanc.password }),
      });
      await pacs.saveConnection({
        id: 'orthanc',
        name: 'Orthanc',
        dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user },
      });
      const doneAt: number[] = [];
      const started = performance.now();
      const summary = await pacs.watch('orthanc', {
        node: { index: 1, count: 1 },
        query: { modalities: ['CR'], patientId },
        process,
        signal: new AbortController().signal,
        since: '20260101',
        once: true,
        onStudyDone: () => doneAt.push(performance.now()),
      });
      const seconds = (performance.now() - started) / 1000;
      await library.close();
      // Steady state: from the first study done to the last (model load and first poll excluded).
      const steady = doneAt.length > 1 ? (doneAt.at(-1)! - doneAt[0]!) / 1000 / (doneAt.length - 1) : null;
      const result = {
        studies: summary.processed,
        resultsSent: summary.sent,
        failed: summary.failed,
        wallSeconds: Number(seconds.toFixed(1)),
        studiesPerHourPerNode: Math.round((3600 * summary.processed) / seconds),
        steadySecondsPerStudy: steady === null ? null : Number(steady.toFixed(2)),
        steadyStudiesPerHourPerNode: steady === null ? null : Math.round(3600 / steady),
      };
      context.log(`${name}: ${JSON.stringify(result)}`);
      return result;
    };

    await upload('BENCHM');
    await upload('BENCHP');
    const withModel = await run(
      'restore-classify',
      processWith((input, signal) => runner.run('processImages', input, { signal }), {
        shippedDir: shippedModelsDir(),
        localDir: localModelsDir(join(work.path, 'models')),
      }),
      'BENCHM*',
    );
    const passThrough: ProcessImages = async (files, outDir) =>
      Promise.all(
        files.map(async (file, i) => {
          const bytes = new Uint8Array(readFileSync(file));
          const header = readDicomHeader(bytes);
          const image = toModelInput(bytes, await decodeFrame(bytes, header, 0), header);
          const model = { name: 'pass-through (bench)', version: '0', sha256: '0'.repeat(64) };
          const output = join(outDir, `${i}_restored.dcm`);
          const report = join(outDir, `${i}_classification.dcm`);
          await saveDicom(output, await writeDerivedImage({ source: bytes, image, model }));
          await saveDicom(
            report,
            writeClassificationReport(bytes, { probabilities: { normal: 0.5, 'COVID-19': 0.5 }, model }),
          );
          return { file, output, report };
        }),
      );
    const pacsOnly = await run('pacs-only', passThrough, 'BENCHP*');
    return {
      setup: `Orthanc ${orthanc.baseUrl.startsWith('http://127.0.0.1') ? 'on loopback' : ''}, DICOMweb, ${count} one-image CR studies (440x440) per pass, one node`,
      withModel,
      pacsOnly,
    };
  } finally {
    await runner.close();
    await orthanc.stop();
    work.remove();
  }
}
