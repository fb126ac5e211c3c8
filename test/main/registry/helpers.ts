// Registry test helpers: a data folder with shipped and local tiny models, and evaluation.json files
// in the format `r2c eval` writes (made from given scores with the real classification report).
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { classificationReport } from '../../../main/evaluation/index.ts';
import type { ModelCard } from '../../../main/inference/model-card.ts';
import { installTinyModel } from '../inference/fixtures.ts';

export function workstation(root: string, name: string) {
  const base = mkdtempSync(join(root, `${name}-`));
  const shippedDir = join(base, 'shipped');
  const dataDir = join(base, 'data');
  const localDir = join(dataDir, 'models');
  mkdirSync(shippedDir, { recursive: true });
  mkdirSync(localDir, { recursive: true });
  return { base, shippedDir, dataDir, localDir };
}

/** A shipped default model with validation results on its card, as the shipped cards have. */
export function shipDefault(shippedDir: string, id = 'shipped-a'): ModelCard {
  return installTinyModel(shippedDir, id, {
    version: '1.0.0',
    default: true,
    metrics: {
      evaluatedOn: 'validation split (480 images)',
      f1: { clean: 0.7, degraded: 0.6, restored: 0.65 },
      auc: { clean: 0.8, degraded: 0.7, restored: 0.75 },
    },
  });
}

/** A local model without any evaluation (as a fresh fine-tune is installed). */
export function installLocal(localDir: string, id = 'local-ward3'): ModelCard {
  return installTinyModel(localDir, id, {
    version: 'draft-step-20',
    default: false,
    training: {
      baseModel: 'shipped-a 1.0.0',
      objective: 'paired',
      steps: 20,
      lr: 1e-4,
      seed: 1,
      data: 'ward3',
    },
    limitations: ['draft: not evaluated; run r2c eval on held-out images before use'],
  });
}

/** Hashes of every file in a folder: the proof that nothing in it changed. */
export function folderHashes(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.onnx') || f.endsWith('.model.json'))
      .sort()
      .map((f) => [
        f,
        createHash('sha256')
          .update(readFileSync(join(dir, f)))
          .digest('hex'),
      ]),
  );
}

/** Writes an evaluation.json as `r2c eval` does, for `images` with their clean/degraded/restored scores. */
export function writeEvaluationJson(
  path: string,
  model: { id: string; version: string },
  images: { id: string; covid: boolean; clean: number; degraded: number; restored: number }[],
  data = '/data/calibration-set',
): string {
  const actual = images.map((i) => i.covid);
  const report = (c: 'clean' | 'degraded' | 'restored') =>
    classificationReport(
      images.map((i) => i[c]),
      actual,
      0.5,
    );
  const restorationStats = {
    count: images.length,
    psnr: 30,
    ssim: 0.8,
    psnrGain: 2,
    ssimGain: 0.05,
    gridRatio: 1.1,
    nyquistPeak: 0.3,
  };
  const result = {
    model,
    provider: 'cpu',
    data,
    count: images.length,
    report: {
      config: {
        count: images.length,
        size: 64,
        threshold: 0.5,
        degradationSeed: 'r2c-eval',
        degradation: {},
        baselines: [],
      },
      classification: {
        clean: report('clean'),
        degraded: report('degraded'),
        restored: report('restored'),
        baselines: {},
        withinSource: [],
      },
      restoration: {
        degraded: {
          overall: { ...restorationStats, psnrGain: 0, ssimGain: 0 },
          byType: {},
          byArtifactCount: {},
        },
        restored: { overall: restorationStats, byType: {}, byArtifactCount: {} },
        baselines: {},
        identity: { gridRatio: 1, psnr: 40, cleanNyquistPeak: 0.2 },
      },
      operatingPoints: { clean: null, degraded: null, restored: null },
      images: images.map((i) => ({
        id: i.id,
        label: i.covid ? 'covid' : 'normal',
        artifacts: [],
        scores: { clean: i.clean, degraded: i.degraded, restored: i.restored },
        psnr: {},
        ssim: {},
        grid: {},
        nyquist: {},
        identity: { grid: 1, psnr: 40 },
      })),
    },
  };
  writeFileSync(path, JSON.stringify(result));
  return path;
}

/** Ten images with known scores: 5 COVID-19, 5 normal (the hand-worked calibration set). */
export const calibrationImages = [
  { id: 'p1', covid: true, s: 0.9 },
  { id: 'p2', covid: true, s: 0.8 },
  { id: 'p3', covid: true, s: 0.7 },
  { id: 'p4', covid: true, s: 0.4 },
  { id: 'p5', covid: true, s: 0.2 },
  { id: 'n1', covid: false, s: 0.6 },
  { id: 'n2', covid: false, s: 0.35 },
  { id: 'n3', covid: false, s: 0.3 },
  { id: 'n4', covid: false, s: 0.1 },
  { id: 'n5', covid: false, s: 0.05 },
].map((i) => ({ id: i.id, covid: i.covid, clean: i.s, degraded: i.s, restored: i.s }));
