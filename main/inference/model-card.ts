import { z } from 'zod';

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
  limitations: z.array(z.string()).min(1),
});

export type ModelCard = z.infer<typeof modelCardSchema>;
