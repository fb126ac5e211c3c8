// The job handler that main/jobs can run off the main thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobProgress } from '../../../main/jobs/types.ts';
import { loadDicomFrame } from '../../../main/dicom/index.ts';
import { dicomPath } from './helpers.ts';

test('loadDicomFrame returns header, display and model input, with progress; output is cloneable', async () => {
  const progress: JobProgress[] = [];
  const output = await loadDicomFrame(
    { path: dicomPath('dwv/gdcm-CR-MONO1-10-chest.dcm') },
    { signal: new AbortController().signal, progress: (p) => progress.push(p) },
  );
  assert.equal(output.header.rows, 440);
  assert.equal(output.display.data.length, 440 * 440);
  assert.equal(output.modelInput.data.length, 440 * 440);
  assert.deepEqual(
    progress.map((p) => p.done),
    [0, 1, 2, 3],
  );
  assert.deepEqual(structuredClone(output).header, output.header);
});

test('loadDicomFrame honours cancellation', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    loadDicomFrame(
      { path: dicomPath('dwv/gdcm-CR-MONO1-10-chest.dcm') },
      { signal: controller.signal, progress: () => {} },
    ),
    { code: 'cancelled' },
  );
});
