// Files other services derive from library images, which the library must delete with the image
// (by hand or by retention). Composed here because library/ may not import those services.
import type { DerivedFiles } from '../library/index.ts';
import { outgoingDerivedFiles } from '../pacs/index.ts';

export function libraryDerivedFiles(dataDir: string): DerivedFiles[] {
  return [outgoingDerivedFiles(dataDir)];
}
