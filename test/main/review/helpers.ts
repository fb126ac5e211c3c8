import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StudyInput } from '../../../main/review/index.ts';

export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'r2c-review-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Ids and labels chosen to be easy to spot if they ever leak into a blinded view. */
export const secretWords = ['inst-secret', 'v-orig', 'v-gan', 'Original image', 'R2C-GAN', 'model-r2c'];

export function sampleStudy(overrides: Partial<StudyInput> = {}): StudyInput {
  return {
    name: 'Restoration preference',
    images: [
      { id: 'inst-secret-1', truth: 'covid' },
      { id: 'inst-secret-2', truth: 'normal' },
      { id: 'inst-secret-3', truth: 'covid' },
      { id: 'inst-secret-4', truth: 'normal' },
    ],
    variants: [
      { id: 'v-orig', kind: 'original', label: 'Original image' },
      { id: 'v-gan', kind: 'restored', modelId: 'model-r2c', passes: 1, label: 'R2C-GAN, 1 pass' },
    ],
    seed: 20260101,
    ...overrides,
  };
}
