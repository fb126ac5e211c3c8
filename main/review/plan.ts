// From what the set-up form asks for to what the store creates: the blinding rules, the variant
// shorthand (original beside the default model), the images' check, and, for the image loader, what a
// resolved presentation is rendered as. Export file names are named here too.
import { AppError } from '../util/errors.ts';
import { slug } from '../util/slug.ts';
import type { Blinding, StudyInput } from './schema.ts';
import type { ResolvedPresentation } from './types.ts';
import {
  type ComparisonRule,
  type ModelInfo,
  studyComparisons,
  studyVariants,
  type VariantChoice,
} from './variants.ts';

/** A reader study as the set-up form asks for it (the reviewCreateStudy channel's payload). */
export interface StudyRequest {
  name: string;
  /** Library instance ids of the images to read. */
  instanceIds: readonly number[];
  /** Shorthand for variants [original, default model with this many passes]; give this or variants. */
  passes?: number | undefined;
  variants?: readonly VariantChoice[] | undefined;
  comparisons?: ComparisonRule | undefined;
  questions?: StudyInput['questions'];
  navigation?: StudyInput['navigation'];
  /** Lock window/level and zoom for every reader (default true, as in the reference study). */
  lockDisplay?: boolean | undefined;
  readers?: string[] | undefined;
  /** The owner's passphrase (roles: owner.ts). */
  ownerPassphrase?: string | undefined;
  /** Ground truth per image set in the picker (instance id → covid / normal / unknown). */
  truth?: Readonly<Record<string, 'covid' | 'normal' | 'unknown'>> | undefined;
}

/** What planning a study needs from the other services. */
export interface StudyPlanContext {
  /** Throws (AppError) for an image a reader could not be shown, e.g. one without decodable pixels. */
  checkImage(instanceId: number): void;
  /** The installed models (only asked for when the request names variants). */
  installedModels(): Promise<readonly ModelInfo[]>;
  /** The default model's id (only asked for with the passes shorthand); null when none is installed. */
  defaultModelId(): Promise<string | null>;
  /** Ground truth from the library's data when the picker set none (candidates.ts, truthFromSource). */
  libraryTruth?(instanceId: number): 'covid' | 'normal' | 'unknown';
}

/**
 * The blinding of every study set up in the app: method names, AI output and patient identifiers are
 * always hidden; window/level and zoom are locked unless the owner unlocks the display.
 */
export function studyBlinding(lockDisplay = true): Blinding {
  return {
    hideMethodNames: true,
    hideAiOutput: true,
    hidePatientIdentifiers: true,
    lockWindowLevel: lockDisplay,
    lockZoom: lockDisplay,
  };
}

/** The store's study input for a set-up request; checks every image first, then the variants. */
export async function planStudy(request: StudyRequest, context: StudyPlanContext): Promise<StudyInput> {
  for (const instanceId of request.instanceIds) context.checkImage(instanceId);
  let variants: StudyInput['variants'];
  if (request.variants) {
    variants = studyVariants(request.variants, await context.installedModels());
  } else {
    // The shorthand: the original beside the default model with `passes` passes.
    const modelId = await context.defaultModelId();
    if (!modelId) throw new AppError('not_found', 'no restoration model is installed');
    const n = request.passes ?? 1;
    variants = [
      { id: 'original', kind: 'original', label: 'Original' },
      {
        id: 'restored',
        kind: 'restored',
        modelId,
        passes: n,
        label: `Restored, ${n} pass${n === 1 ? '' : 'es'}`,
      },
    ];
  }
  const comparisons = studyComparisons(variants, request.comparisons);
  return {
    name: request.name,
    // Ground truth: set per case in the picker, else from the library; 'unknown' is left out (empty
    // truth column in the MRMC export).
    images: request.instanceIds.map((instanceId) => {
      const truth = request.truth?.[String(instanceId)] ?? context.libraryTruth?.(instanceId) ?? 'unknown';
      return truth === 'unknown' ? { id: String(instanceId) } : { id: String(instanceId), truth };
    }),
    ...(request.ownerPassphrase !== undefined ? { ownerPassphrase: request.ownerPassphrase } : {}),
    variants,
    ...(comparisons ? { comparisons } : {}),
    ...(request.questions ? { questions: request.questions } : {}),
    ...(request.navigation ? { navigation: request.navigation } : {}),
    blinding: studyBlinding(request.lockDisplay),
    ...(request.readers ? { readers: request.readers } : {}),
  };
}

/** How a presentation's image is rendered: the original, or a model's restoration with its passes. */
export type RenderedVariant = { kind: 'original' } | { kind: 'restored'; modelId: string; passes: number };

/** What the image loader renders for a resolved presentation (never sent to the renderer). */
export function presentationImage(resolved: ResolvedPresentation): {
  imageId: string;
  variant: RenderedVariant;
} {
  const { imageId, variant } = resolved;
  if (variant.kind === 'original') return { imageId, variant: { kind: 'original' } };
  if (!variant.modelId) throw new AppError('bad_input', `variant ${variant.id} names no model`);
  return { imageId, variant: { kind: 'restored', modelId: variant.modelId, passes: variant.passes ?? 1 } };
}

/** The file name of a study's export, e.g. `Chest-study-ratings.csv` (`suffix` 'ratings.csv'). */
export function exportFileName(studyName: string, suffix: string): string {
  const safe = slug(studyName, { keepCase: true, maxLength: 80 }) || 'study';
  return `${safe}-${suffix}`;
}
