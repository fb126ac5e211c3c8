// What the Models page shows: every installed model with its card (intended use, validation metrics,
// limitations, training), the cards that could not be read, and an on-demand check of a model file
// against its card's SHA-256. Reads cards only; model files are read by `verify` alone.
import { AppError } from '../util/errors.ts';
import type { ModelCard } from './model-card.ts';
import {
  defaultModel,
  findModel,
  type InstalledModel,
  listModels,
  type ModelProblem,
  readVerifiedModel,
  type ThresholdSource,
} from './model-store.ts';

export interface ModelDetails {
  id: string;
  version: string;
  name: string;
  origin: 'shipped' | 'local';
  isDefault: boolean;
  architecture: string;
  parameters: number;
  threshold: number;
  classificationSize: number;
  workingLongSide: number;
  file: string;
  bytes: number;
  sha256: string;
  intendedUse: string;
  limitations: string[];
  /**
   * As the model store knows it: active / retired from the registry's state, 'evaluated' when the card
   * carries validation results (the registry also knows evaluations made on this workstation).
   */
  status: 'installed' | 'evaluated' | 'active' | 'retired';
  /** Where `threshold` (the effective one) comes from: the card, or a choice in the model registry. */
  thresholdSource: ThresholdSource;
  /** Validation results from the card; null where the card has none (e.g. an unevaluated draft). */
  metrics: {
    evaluatedOn: string | null;
    f1: ConditionValues | null;
    auc: ConditionValues | null;
    psnrGainDb: number | null;
    ssimGain: number | null;
  };
  training: {
    steps: number | null;
    hardware: string | null;
    objective: string | null;
    stoppedEarly: string | null;
    run: string | null;
  };
}

export interface ConditionValues {
  clean: number | null;
  degraded: number | null;
  restored: number | null;
}

export interface ModelVerification {
  modelId: string;
  ok: boolean;
  detail: string;
}

/** 'operational Q=3', 'convolutional-light', … as the app shows it. */
export function architectureLabel(card: ModelCard): string {
  const { kind, q } = card.architecture;
  return kind === 'operational' ? `operational Q=${q ?? 1}` : kind;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);
const record = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

function conditions(v: unknown): ConditionValues | null {
  const r = record(v);
  if (!r) return null;
  return { clean: num(r['clean']), degraded: num(r['degraded']), restored: num(r['restored']) };
}

/** The card's free-form metrics and training records, read defensively: cards come from disk. */
export function modelDetails(model: InstalledModel, isDefault: boolean): ModelDetails {
  const { card } = model;
  const metrics = record(card.metrics) ?? {};
  const training = record(card.training) ?? {};
  return {
    id: card.id,
    version: card.version,
    name: card.name,
    origin: model.origin,
    isDefault,
    architecture: architectureLabel(card),
    parameters: card.architecture.parameters,
    threshold: card.threshold,
    classificationSize: card.input.classificationSize,
    workingLongSide: card.input.workingLongSide,
    file: card.file,
    bytes: card.bytes,
    sha256: card.sha256,
    intendedUse: card.intendedUse,
    limitations: card.limitations,
    status: isDefault
      ? 'active'
      : model.retired
        ? 'retired'
        : str(metrics['evaluatedOn'])
          ? 'evaluated'
          : 'installed',
    thresholdSource: model.thresholdSource,
    metrics: {
      evaluatedOn: str(metrics['evaluatedOn']),
      f1: conditions(metrics['f1']),
      auc: conditions(metrics['auc']),
      psnrGainDb: num(metrics['psnrGainDb']),
      ssimGain: num(metrics['ssimGain']),
    },
    training: {
      steps: num(training['steps']),
      hardware: str(training['hardware']),
      objective: str(training['objective']),
      stoppedEarly: str(training['stoppedEarly']),
      run: str(training['run']),
    },
  };
}

export function createModelCatalog(options: { shippedDir: string; localDir?: string }) {
  return {
    async list(): Promise<{ models: ModelDetails[]; problems: ModelProblem[] }> {
      const { models, problems } = await listModels(options.shippedDir, options.localDir);
      const chosen = defaultModel(models);
      return { models: models.map((m) => modelDetails(m, m === chosen)), problems };
    },

    /** Re-reads the model file and checks its size and SHA-256 against the card. */
    async verify(modelId: string): Promise<ModelVerification> {
      const model = findModel((await listModels(options.shippedDir, options.localDir)).models, modelId);
      try {
        const bytes = await readVerifiedModel(model);
        return {
          modelId,
          ok: true,
          detail: `${model.card.file}: ${bytes.length.toLocaleString('en-US')} bytes, SHA-256 matches the model card`,
        };
      } catch (error) {
        // A missing or altered file is the answer, not a failure of the check.
        if (error instanceof AppError && (error.code === 'integrity' || error.code === 'not_found'))
          return { modelId, ok: false, detail: error.message };
        throw error;
      }
    },
  };
}

export type ModelCatalog = ReturnType<typeof createModelCatalog>;
