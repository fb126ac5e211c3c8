import { z } from 'zod';

/**
 * Study configuration and call inputs. Exported so the IPC contract can reuse the same schemas;
 * the store validates every input with them too (the service, not the UI, enforces the rules).
 */
const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'ids use letters, digits, _ . or - only');
const label = z.string().trim().min(1).max(200);

export const variantSchema = z
  .object({
    id,
    kind: z.enum(['original', 'restored']),
    modelId: z.string().min(1).max(200).optional(),
    passes: z.number().int().min(1).max(100).optional(),
    label,
  })
  .strict()
  .refine((v) => v.kind === 'restored' || (v.modelId === undefined && v.passes === undefined), {
    message: 'an original variant has no modelId or passes',
  })
  .refine((v) => v.kind === 'original' || v.modelId !== undefined, {
    message: 'a restored variant needs a modelId',
  });

const baseQuestion = { id, prompt: z.string().trim().min(1).max(500), required: z.boolean().default(true) };

export const questionSchema = z.discriminatedUnion('kind', [
  z
    .object({
      ...baseQuestion,
      kind: z.literal('score'),
      scope: z.literal('each').default('each'),
      min: z.number().int().default(1),
      max: z.number().int().default(5),
      /** Optional anchor text per scale point, e.g. {"1": "non-diagnostic", "5": "excellent"}. */
      anchors: z.record(z.string(), z.string().max(200)).optional(),
    })
    .strict()
    .refine((q) => q.max > q.min, { message: 'score max must be above min' }),
  z
    .object({ ...baseQuestion, kind: z.literal('forced-choice'), scope: z.literal('case').default('case') })
    .strict(),
  z
    .object({
      ...baseQuestion,
      kind: z.literal('choice'),
      scope: z.enum(['each', 'case']).default('each'),
      options: z.array(id).min(2).max(20),
    })
    .strict()
    .refine((q) => new Set(q.options).size === q.options.length, {
      message: 'choice options must be unique',
    }),
  z
    .object({
      ...baseQuestion,
      kind: z.literal('comment'),
      scope: z.literal('case').default('case'),
      required: z.boolean().default(false),
      maxLength: z.number().int().min(1).max(10000).default(2000),
    })
    .strict(),
]);

export const defaultQuestions = [
  {
    id: 'quality',
    kind: 'score',
    scope: 'each',
    prompt: 'Overall diagnostic image quality',
    required: true,
    min: 1,
    max: 5,
    anchors: { '1': 'non-diagnostic', '2': 'poor', '3': 'adequate', '4': 'good', '5': 'excellent' },
  },
  {
    id: 'preference',
    kind: 'forced-choice',
    scope: 'case',
    prompt: 'Which image would you rather read from?',
    required: true,
  },
  {
    id: 'findings',
    kind: 'choice',
    scope: 'each',
    prompt: 'Are the findings preserved?',
    required: true,
    options: ['yes', 'no', 'unsure'],
  },
  { id: 'comment', kind: 'comment', scope: 'case', prompt: 'Comment', required: false, maxLength: 2000 },
] as const satisfies z.input<typeof questionSchema>[];

export const blindingSchema = z
  .object({
    hideMethodNames: z.boolean().default(true),
    hideAiOutput: z.boolean().default(true),
    hidePatientIdentifiers: z.boolean().default(true),
    lockWindowLevel: z.boolean().default(false),
    lockZoom: z.boolean().default(false),
  })
  .strict();

export const navigationSchema = z
  .object({
    /** 'none': never back; 'previous': only the case just before the first unfinished one; 'any': any finished case. */
    goBack: z.enum(['none', 'previous', 'any']).default('previous'),
    /** Whether answers of a finished case may be changed when the reader goes back to it. */
    allowEdits: z.boolean().default(true),
  })
  .strict();

const imageSchema = z.union([
  id.transform((imageId) => ({ id: imageId })),
  z.object({ id, truth: z.string().max(64).optional() }).strict(),
]);

export const studyInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(5000).optional(),
    images: z.array(imageSchema).min(1).max(100000),
    variants: z.array(variantSchema).min(2).max(20),
    /** Pairs of variant ids shown side by side; default: every restored variant against the original (or all pairs). */
    comparisons: z
      .array(z.tuple([id, id]))
      .min(1)
      .max(190)
      .optional(),
    questions: z.array(questionSchema).min(1).max(30).optional(),
    blinding: blindingSchema.default({
      hideMethodNames: true,
      hideAiOutput: true,
      hidePatientIdentifiers: true,
      lockWindowLevel: false,
      lockZoom: false,
    }),
    navigation: navigationSchema.default({ goBack: 'previous', allowEdits: true }),
    /** Seed of the per-reader randomisation (uint32); random when left out. */
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    readers: z.array(z.string().trim().min(1).max(200)).max(200).optional(),
    /** The study owner's passphrase (stored as a scrypt hash, never in the configuration). */
    ownerPassphrase: z.string().min(8).max(200).optional(),
  })
  .strict();

export type StudyInput = z.input<typeof studyInputSchema>;
export type Variant = z.output<typeof variantSchema>;
export type Question = z.output<typeof questionSchema>;
export type Blinding = z.output<typeof blindingSchema>;
export type Navigation = z.output<typeof navigationSchema>;

/**
 * The stored, fully resolved study configuration (never changes after creation): what resolveConfig
 * in store.ts builds from a StudyInput, and what is read back from the database (parsed with this
 * schema, so the type is exactly what is checked).
 */
export const studyConfigSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    description: z.string().max(5000).optional(),
    images: z.array(z.object({ id, truth: z.string().max(64).optional() }).strict()),
    variants: z.array(variantSchema),
    comparisons: z.array(z.tuple([id, id])),
    questions: z.array(questionSchema),
    blinding: blindingSchema,
    navigation: navigationSchema,
    seed: z.number().int().min(0).max(0xffffffff),
  })
  .strict();
export type StudyConfig = z.output<typeof studyConfigSchema>;

export const answerInputSchema = z
  .object({
    studyId: id,
    readerId: id,
    /** The opaque case id from the current case view (guards against answering a stale screen). */
    caseId: id,
    questionId: id,
    /** For questions asked of each image: the presentation id of the image being answered about. */
    presentationId: id.optional(),
    /** Score: integer; forced-choice: the chosen presentation id; choice: an option; comment: text. */
    value: z.union([z.number(), z.string().max(10000)]),
  })
  .strict();
export type AnswerInput = z.input<typeof answerInputSchema>;

export const sessionRefSchema = z.object({ studyId: id, readerId: id }).strict();
export type SessionRef = z.input<typeof sessionRefSchema>;

export const goBackInputSchema = z
  .object({
    studyId: id,
    readerId: id,
    /** 1-based case position to go to; default: the case before the current one. */
    toPosition: z.number().int().min(1).optional(),
  })
  .strict();
export type GoBackInput = z.input<typeof goBackInputSchema>;

export const readerInputSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    id: id.optional(),
    /** The reader's secret (owner-protected studies: given by the owner, else generated and shown once). */
    secret: z.string().min(8).max(200).optional(),
  })
  .strict();
export type ReaderInput = z.input<typeof readerInputSchema>;
