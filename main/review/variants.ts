import { AppError } from '../util/errors.ts';
import type { StudyInput } from './schema.ts';

/** A variant as the set-up form chooses it. */
export type VariantChoice = { kind: 'original' } | { kind: 'restored'; modelId: string; passes: number };

/** What the set-up needs to know of an installed model. */
export interface ModelInfo {
  id: string;
  name: string;
  version: string;
  /** The ONNX file's SHA-256: results and exports name the exact model file. */
  sha256?: string;
}

export type ComparisonRule = 'againstOriginal' | 'allPairs';

const passesText = (passes: number) => `${passes} pass${passes === 1 ? '' : 'es'}`;

/**
 * The study variants for the form's choices: ids that read well in exports (`original`,
 * `<model>-p<passes>`) and labels naming model, version and passes (shown only in results).
 */
export function studyVariants(
  choices: readonly VariantChoice[],
  models: readonly ModelInfo[],
): StudyInput['variants'] {
  if (choices.length < 2) throw new AppError('bad_input', 'a study compares at least two variants');
  const seen = new Map<string, number>();
  return choices.map((choice, index) => {
    let variant: StudyInput['variants'][number];
    if (choice.kind === 'original') {
      variant = { id: 'original', kind: 'original', label: 'Original' };
    } else {
      const model = models.find((m) => m.id === choice.modelId);
      if (!model)
        throw new AppError('not_found', `variant ${index + 1}: no installed model ${choice.modelId}`);
      variant = {
        // Variant ids are at most 64 characters.
        id: `${model.id.slice(0, 58)}-p${choice.passes}`,
        kind: 'restored',
        modelId: model.id,
        passes: choice.passes,
        label: `${model.name} ${model.version}${model.sha256 ? ` (SHA-256 ${model.sha256.slice(0, 12)})` : ''}, ${passesText(choice.passes)}`,
      };
    }
    const earlier = seen.get(variant.id);
    if (earlier !== undefined)
      throw new AppError(
        'bad_input',
        `variant ${index + 1} is the same as variant ${earlier + 1} (${variant.label}); each variant appears once`,
      );
    seen.set(variant.id, index);
    return variant;
  });
}

/** The pairs shown side by side; undefined leaves the service's default (against the single original, else all pairs). */
export function studyComparisons(
  variants: StudyInput['variants'],
  rule: ComparisonRule | undefined,
): [string, string][] | undefined {
  if (rule === undefined) return undefined;
  const ids = variants.map((v) => v.id);
  if (rule === 'allPairs')
    return ids.flatMap((a, i) => ids.slice(i + 1).map((b) => [a, b] as [string, string]));
  const originals = variants.filter((v) => v.kind === 'original');
  if (originals.length !== 1)
    throw new AppError('bad_input', 'comparing against the original needs the original among the variants');
  const original = originals[0]!.id;
  return ids.filter((id) => id !== original).map((id) => [id, original] as [string, string]);
}
