import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sharedData } from '../../helpers/paths.ts';

/** /work/shared/data resolved from the repo root (tests never copy data into the repo). */
export const sharedDataDir = sharedData;
export const sharedManifest = join(sharedDataDir, 'MANIFEST.csv');

/** A skip reason when the shared data set is absent, else false. */
export function sharedDataMissing(): string | false {
  return existsSync(sharedManifest) ? false : `shared data not found at ${sharedDataDir}`;
}
