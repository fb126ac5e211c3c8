import { z } from 'zod';

/** The input a model was made for (the gate refuses DICOM images whose attributes say otherwise). */
export const intendedInputSchema = z.strictObject({
  /** Modality (0008,0060) values, e.g. CR, DX. */
  modalities: z.array(z.string().min(1)).min(1),
  /** Body Part Examined (0018,0015) values, e.g. CHEST. */
  bodyParts: z.array(z.string().min(1)).min(1),
  /** View Position (0018,5101) values, e.g. PA, AP. */
  views: z.array(z.string().min(1)).min(1),
  minimumAgeYears: z.number().min(0),
});
export type IntendedInput = z.infer<typeof intendedInputSchema>;

/**
 * How sure a result is: the indeterminate band around the threshold (from the calibration split) and
 * the validation sensitivity/specificity at the threshold, shown next to every result; the fixed
 * scale the heat map is drawn on.
 */
export const modelCalibrationSchema = z.strictObject({
  /** Scores in [low, high] are "indeterminate" (neither positive nor negative). */
  indeterminate: z.strictObject({
    low: z.number().min(0).max(1),
    high: z.number().min(0).max(1),
    method: z.string().min(1),
  }),
  /** Images the band was computed on (e.g. "calibration split, 360 clean images"). */
  calibratedOn: z.string().min(1),
  validation: z.strictObject({
    sensitivity: z.number().min(0).max(1),
    specificity: z.number().min(0).max(1),
    /** e.g. "validation split (480 images), clean, threshold 0.5". */
    on: z.string().min(1),
  }),
  /** Class-activation value drawn as full heat (the same for every image); 0 is none. */
  heatmapScale: z.strictObject({ max: z.number().positive(), chosenOn: z.string().min(1) }).optional(),
});
export type ModelCalibration = z.infer<typeof modelCalibrationSchema>;

// A model card travels next to each model file (<id>.model.json beside <id>.onnx). The app refuses
// a model whose bytes do not match the card's SHA-256, so a tampered or truncated file is never run.
export const modelCardSchema = z.object({
  format: z.literal('r2c-model-card/1'),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  version: z.string().min(1),
  name: z.string().min(1),
  file: z.string().regex(/^[^/\\]+\.onnx$/, 'model file must be a plain .onnx file name beside the card'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().positive(),
  architecture: z.object({
    kind: z.enum(['operational', 'convolutional', 'convolutional-light']),
    q: z.number().int().min(1).max(3).optional(),
    /** The generator's x2 upsampling; absent on cards from before the option (= transposed). */
    upsampling: z.enum(['transposed', 'resize']).optional(),
    parameters: z.number().int().positive(),
  }),
  /** The label is "covid" when the COVID-19 probability is above this (a tie is "normal", as argmax). */
  threshold: z.number().min(0).max(1),
  input: z.object({
    classificationSize: z.number().int().positive(),
    workingLongSide: z.number().int().positive(),
  }),
  default: z.boolean().optional(),
  training: z.record(z.string(), z.unknown()).optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  intendedUse: z.string().min(1),
  /** Absent on older cards: adult frontal chest radiographs (CHEST_RADIOGRAPH_INPUT) are assumed. */
  intendedInput: intendedInputSchema.optional(),
  /** Absent: results carry no indeterminate band and no validation figures. */
  calibration: modelCalibrationSchema.optional(),
  limitations: z.array(z.string()).min(1),
});

export type ModelCard = z.infer<typeof modelCardSchema>;
