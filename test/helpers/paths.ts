import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Repository root, with a trailing slash. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The shared test data (../shared/data beside the checkout); never copied into the repo. */
export const sharedData = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

export function requireSharedData(): string {
  if (!existsSync(sharedData)) throw new Error(`shared test data not found at ${sharedData}`);
  return sharedData;
}
