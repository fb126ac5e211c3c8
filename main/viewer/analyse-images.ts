// Several images analysed one after another (the library's batch analysis): each image's result or
// error, progress per image, and a cancel that stops before the next image.
import type { JobProgress } from '../jobs/types.ts';
import { serializeError } from '../util/errors.ts';
import type { AnalysisSummary, ViewerService } from './service.ts';

export type AnalysedImage =
  | { instanceId: number; ok: true; analysis: AnalysisSummary }
  | { instanceId: number; ok: false; error: { code: string; message: string } };

export interface AnalysedImages {
  /** One item per image analysed, in order; images after a cancel are left out. */
  items: AnalysedImage[];
  cancelled: boolean;
}

/**
 * Analyses `instanceIds` in order with `viewer.analyse`. An image that fails is reported in its item
 * and the next one goes on. Progress: one image reports its own steps; several report whole images.
 */
export async function analyseImages(
  viewer: Pick<ViewerService, 'analyse'>,
  instanceIds: readonly number[],
  request: {
    modelId?: string | undefined;
    passes: number;
    reuse: boolean;
    /** The user classifies images the input gate refuses (recorded in each result). */
    overrideIntendedUse?: { reason?: string | undefined } | undefined;
  },
  run: { signal: AbortSignal; onProgress?: (progress: JobProgress) => void },
): Promise<AnalysedImages> {
  const { signal, onProgress } = run;
  const items: AnalysedImage[] = [];
  const total = instanceIds.length;
  const { modelId, passes, reuse, overrideIntendedUse } = request;
  for (const [index, instanceId] of instanceIds.entries()) {
    if (signal.aborted) break;
    onProgress?.({ done: index, total, message: `image ${index + 1} of ${total}` });
    try {
      const analysis = await viewer.analyse(
        instanceId,
        {
          ...(modelId ? { modelId } : {}),
          passes,
          reuse,
          ...(overrideIntendedUse
            ? {
                overrideIntendedUse: overrideIntendedUse.reason ? { reason: overrideIntendedUse.reason } : {},
              }
            : {}),
        },
        {
          signal,
          onProgress: (p) => {
            if (total === 1) onProgress?.(p);
          },
        },
      );
      items.push({ instanceId, ok: true, analysis });
    } catch (error) {
      if (signal.aborted) break;
      const { code, message } = serializeError(error);
      items.push({ instanceId, ok: false, error: { code, message } });
    }
  }
  if (!signal.aborted) onProgress?.({ done: total, total });
  return { items, cancelled: signal.aborted };
}
