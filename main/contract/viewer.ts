// Viewer channels: original images in their own units, analyses (restore + classify), restored
// images and heat maps.
import { z } from 'zod';
import { type ChannelSchemas, jobId, modelId, pixelBytes, rowId } from './common.ts';

const windowPreset = z.object({
  center: z.number(),
  width: z.number().positive(),
  label: z.string(),
  source: z.enum(['file', 'voiLut', 'minmax']),
});
const viewerImage = z
  .object({
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    components: z.union([z.literal(1), z.literal(3)]),
    dataType: z.enum(['uint8', 'int16', 'uint16', 'float32']),
    pixels: pixelBytes,
    min: z.number(),
    max: z.number(),
    photometric: z.enum(['MONOCHROME1', 'MONOCHROME2', 'RGB']),
    windows: z.array(windowPreset).min(1),
    voiFunction: z.enum(['LINEAR', 'LINEAR_EXACT', 'SIGMOID']),
    spacing: z.object({ row: z.number().positive(), column: z.number().positive() }),
    calibration: z.enum(['PixelSpacing', 'ImagerPixelSpacing']).nullable(),
    modality: z.string().nullable(),
    units: z.string(),
    frames: z.number().int().nonnegative(),
    lossy: z.boolean(),
  })
  .refine(
    (i) =>
      i.pixels.byteLength ===
      i.width * i.height * i.components * { uint8: 1, int16: 2, uint16: 2, float32: 4 }[i.dataType],
    { message: 'pixel bytes do not match width x height x data type' },
  );
const analysisSummary = z.object({
  instanceId: rowId,
  model: z.object({ id: z.string(), version: z.string(), name: z.string() }),
  provider: z.string(),
  threshold: z.number().min(0).max(1),
  probabilities: z.object({ normal: z.number().min(0).max(1), covid: z.number().min(0).max(1) }),
  label: z.enum(['covid', 'normal']),
  passes: z.number().int().min(1).max(3),
  working: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  createdAt: z.string(),
  reused: z.boolean(),
});

export const viewerChannels = {
  getViewerImage: {
    input: z.object({ instanceId: rowId }).strict(),
    output: viewerImage,
  },
  listAnalyses: {
    input: z.object({ instanceId: rowId }).strict(),
    output: z.object({ analyses: z.array(analysisSummary) }),
  },
  analyseImages: {
    input: z
      .object({
        jobId,
        instanceIds: z.array(rowId).min(1).max(10000),
        /** Default: the default model. */
        modelId: modelId.optional(),
        passes: z.number().int().min(1).max(3),
        /** Return a stored analysis (same model file, enough passes) instead of running again. */
        reuse: z.boolean(),
      })
      .strict(),
    output: z.object({
      items: z.array(
        z.union([
          z.object({ instanceId: rowId, ok: z.literal(true), analysis: analysisSummary }),
          z.object({
            instanceId: rowId,
            ok: z.literal(false),
            error: z.object({ code: z.string(), message: z.string() }),
          }),
        ]),
      ),
      cancelled: z.boolean(),
    }),
  },
  getRestoredImage: {
    input: z.object({ instanceId: rowId, modelId, pass: z.number().int().min(1).max(3) }).strict(),
    output: viewerImage,
  },
  getHeatmap: {
    input: z.object({ instanceId: rowId, modelId }).strict(),
    output: z
      .object({ width: z.number().int().positive(), height: z.number().int().positive(), data: pixelBytes })
      .refine((h) => h.data.byteLength === h.width * h.height, { message: 'heat map size mismatch' }),
  },
} satisfies Record<string, ChannelSchemas>;
