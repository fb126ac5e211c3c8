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
const text = z.string().nullable();
const viewerOverlay = z.object({
  patientName: text,
  patientId: text,
  patientSex: text,
  patientBirthDate: text,
  studyDate: text,
  studyTime: text,
  studyDescription: text,
  accessionNumber: text,
  seriesNumber: z.number().int().nullable(),
  seriesDescription: text,
  instanceNumber: z.number().int().nullable(),
  patientOrientation: z.tuple([z.string(), z.string()]).nullable(),
  laterality: text,
  viewPosition: text,
  bodyPart: text,
});
const objectKind = z.enum(['image', 'report', 'presentation', 'other']);
const frameIndex = z.number().int().min(0).max(65535);
/** A measurement or annotation in DICOM image coordinates (column, row; 0,0 = top left corner). */
const imageAnnotation = z
  .object({
    uid: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/, 'annotation id: 1-80 letters, digits, . _ or -'),
    frame: frameIndex,
    tool: z.enum(['Length', 'Angle', 'Probe']),
    points: z
      .array(z.tuple([z.number().finite(), z.number().finite()]))
      .min(1)
      .max(3),
    label: z.string().max(64).optional(),
  })
  .strict();
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
    frame: z.number().int().nonnegative(),
    lossy: z.boolean(),
    overlay: viewerOverlay.nullable(),
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
  modelSha256: z.string().optional(),
  /** How sure: positive / negative / indeterminate, the band, validation figures at the threshold. */
  certainty: z
    .object({
      decision: z.enum(['positive', 'negative', 'indeterminate']),
      threshold: z.number(),
      indeterminate: z.object({ low: z.number(), high: z.number() }).optional(),
      validation: z.object({ sensitivity: z.number(), specificity: z.number(), on: z.string() }).optional(),
    })
    .optional(),
  /** The input gate's finding; `override` when it refused and the user classified anyway. */
  intendedUse: z
    .object({
      accepted: z.boolean(),
      reasons: z.array(
        z.object({
          check: z.enum(['attribute', 'appearance']),
          attribute: z.string(),
          value: z.string(),
          expected: z.string(),
        }),
      ),
      override: z.object({ by: z.string(), reason: z.string().optional() }).optional(),
    })
    .optional(),
  /** The heat map's fixed scale for this model (class-activation value drawn as full heat), or per image. */
  heatmapScale: z
    .union([z.object({ max: z.number(), chosenOn: z.string() }), z.literal('per-image')])
    .optional(),
});

export const viewerChannels = {
  getViewerImage: {
    /** frame: 0-based, default 0. */
    input: z.object({ instanceId: rowId, frame: frameIndex.optional() }).strict(),
    output: viewerImage,
  },
  getViewerStudy: {
    input: z.object({ instanceId: rowId }).strict(),
    output: z.object({
      instanceId: rowId,
      studyId: rowId,
      seriesId: rowId,
      kind: objectKind,
      reason: z.string().nullable(),
      series: z.array(
        z.object({
          id: rowId,
          seriesNumber: z.number().int().nullable(),
          description: z.string().nullable(),
          modality: z.string().nullable(),
          instances: z.array(
            z.object({
              id: rowId,
              instanceNumber: z.number().int().nullable(),
              frames: z.number().int().nonnegative(),
              kind: objectKind,
            }),
          ),
        }),
      ),
    }),
  },
  getStructuredReport: {
    input: z.object({ instanceId: rowId }).strict(),
    output: z.object({
      sopClassUid: z.string(),
      title: z.string(),
      completion: z.string().nullable(),
      verification: z.string().nullable(),
      contentDate: z.string().nullable(),
      contentTime: z.string().nullable(),
      template: z.string().nullable(),
      /** The content tree in document order; depth 1 = the root's children. */
      items: z.array(
        z.object({
          depth: z.number().int().positive(),
          relationship: z.string().nullable(),
          valueType: z.string(),
          concept: z.string().nullable(),
          value: z.string(),
        }),
      ),
    }),
  },
  listAnnotations: {
    input: z.object({ instanceId: rowId }).strict(),
    output: z.object({
      stored: z.array(imageAnnotation),
      fromReports: z.array(
        z.object({
          instanceId: rowId,
          kind: z.enum(['report', 'presentation']),
          annotations: z.array(imageAnnotation),
        }),
      ),
    }),
  },
  saveAnnotations: {
    input: z.object({ instanceId: rowId, annotations: z.array(imageAnnotation).max(1000) }).strict(),
    output: z.object({ saved: z.number().int().nonnegative() }),
  },
  exportAnnotations: {
    input: z
      .object({
        instanceId: rowId,
        format: z.enum(['sr', 'gsps']),
        /** PS3.15 Annex E Basic Profile on the exported object. */
        deidentify: z.boolean(),
        /** The window shown, for the presentation state's VOI. */
        window: z.object({ center: z.number().finite(), width: z.number().positive() }).strict().optional(),
      })
      .strict(),
    output: z.object({ bytes: pixelBytes, fileName: z.string() }),
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
        /** Classify images the input gate refuses ("outside the model's intended use"); recorded. */
        overrideIntendedUse: z
          .object({ reason: z.string().max(500).optional() })
          .strict()
          .optional(),
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
