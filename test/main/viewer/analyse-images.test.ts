// The batch analysis loop over a stand-in viewer: items in order, failures reported per image,
// progress per image (or the image's own steps for one), and a cancel between images.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JobProgress } from '../../../main/jobs/types.ts';
import { AppError } from '../../../main/util/errors.ts';
import { analyseImages } from '../../../main/viewer/analyse-images.ts';
import type { AnalysisSummary, ViewerService } from '../../../main/viewer/service.ts';

const summary = (instanceId: number): AnalysisSummary => ({
  instanceId,
  model: { id: 'r2c-q3', version: '1.0.0', name: 'R2C-GAN' },
  provider: 'cpu',
  threshold: 0.5,
  probabilities: { normal: 0.8, covid: 0.2 },
  label: 'normal',
  passes: 1,
  working: { width: 8, height: 8 },
  createdAt: '2026-12-07T00:00:00.000Z',
  reused: false,
});

type Analyse = ViewerService['analyse'];

function viewer(analyse: (...args: Parameters<Analyse>) => Promise<AnalysisSummary>) {
  const calls: Parameters<Analyse>[] = [];
  return {
    calls,
    viewer: {
      analyse: (...args: Parameters<Analyse>) => {
        calls.push(args);
        return analyse(...args);
      },
    },
  };
}

describe('analyseImages', () => {
  test('every image in order; a failure is reported in its item and the next goes on', async () => {
    const { viewer: v, calls } = viewer(async (id) => {
      if (id === 2) throw new AppError('unsupported', 'instance 2 has no displayable image');
      return summary(id);
    });
    const progress: JobProgress[] = [];
    const result = await analyseImages(
      v,
      [1, 2, 3],
      { modelId: 'r2c-q3', passes: 2, reuse: true },
      { signal: new AbortController().signal, onProgress: (p) => progress.push(p) },
    );
    assert.equal(result.cancelled, false);
    assert.deepEqual(
      result.items.map((i) => [i.instanceId, i.ok]),
      [
        [1, true],
        [2, false],
        [3, true],
      ],
    );
    const failed = result.items[1]!;
    assert.ok(!failed.ok);
    assert.equal(failed.error.code, 'unsupported');
    assert.deepEqual(calls[0]![1], { modelId: 'r2c-q3', passes: 2, reuse: true });
    assert.deepEqual(progress, [
      { done: 0, total: 3, message: 'image 1 of 3' },
      { done: 1, total: 3, message: 'image 2 of 3' },
      { done: 2, total: 3, message: 'image 3 of 3' },
      { done: 3, total: 3 },
    ]);
  });

  test("one image reports its own steps; no model id means the viewer's default", async () => {
    const { viewer: v, calls } = viewer(async (id, _request, run) => {
      run?.onProgress?.({ done: 1, total: 4, message: 'pass 1' });
      return summary(id);
    });
    const progress: JobProgress[] = [];
    await analyseImages(
      v,
      [5],
      { passes: 1, reuse: false },
      {
        signal: new AbortController().signal,
        onProgress: (p) => progress.push(p),
      },
    );
    assert.deepEqual(calls[0]![1], { passes: 1, reuse: false });
    assert.deepEqual(progress, [
      { done: 0, total: 1, message: 'image 1 of 1' },
      { done: 1, total: 4, message: 'pass 1' },
      { done: 1, total: 1 },
    ]);
  });

  test('a cancel stops before the next image and leaves out the one it interrupted', async () => {
    const controller = new AbortController();
    const { viewer: v } = viewer(async (id) => {
      if (id === 2) {
        controller.abort();
        throw new AppError('cancelled', 'cancelled');
      }
      return summary(id);
    });
    const progress: JobProgress[] = [];
    const result = await analyseImages(
      v,
      [1, 2, 3],
      { passes: 1, reuse: true },
      { signal: controller.signal, onProgress: (p) => progress.push(p) },
    );
    assert.equal(result.cancelled, true);
    assert.deepEqual(
      result.items.map((i) => i.instanceId),
      [1],
    );
    assert.equal(progress.at(-1)?.done, 1, 'no final progress after a cancel');
  });
});
