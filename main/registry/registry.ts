// The model registry (after MLflow's: versions, stages, lineage): every installed model version,
// shipped and local, with its card, SHA-256, lineage, evaluations, chosen thresholds and status; the
// one ACTIVE model of this workstation, who changed it, when and why; roll back; packages in and out.
// The registry's decisions reach inference through the state file the model store reads
// (inference/model-store.ts, REGISTRY_STATE_FILE), rewritten after every change and on open.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { basename, join } from 'node:path';
import { rocAuc, rocCurve, rocCurveSvg } from '../evaluation/index.ts';
import {
  type InstalledModel,
  listModels,
  type ModelCard,
  modelCardSchema,
  REGISTRY_STATE_FILE,
  type RegistryState,
} from '../inference/index.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { AppError } from '../util/errors.ts';
import { type Db, openRegistryDb } from './database.ts';
import {
  type EvaluationSummary,
  type ScoreRecord,
  scoreRecord,
  scoresOf,
  summariseEvaluation,
} from './evaluation-record.ts';
import { buildPackage, verifyPackage } from './package.ts';
import { type ChosenThreshold, chooseThreshold, describeTarget, type ThresholdTarget } from './threshold.ts';

export type VersionStatus = 'installed' | 'evaluated' | 'active' | 'retired';
export type EventAction =
  | 'installed'
  | 'activated'
  | 'rolled back'
  | 'retired'
  | 'threshold'
  | 'evaluated'
  | 'imported'
  | 'exported'
  | 'removed';

export interface ModelRegistryOptions {
  /** The registry's database lives here: <dataDir>/model-registry.sqlite. */
  dataDir: string;
  shippedDir: string;
  /** Local models (fine-tuned, imported); the state file for the model store is written here. */
  localDir: string;
  /** Workstation policy: refuse packages that are unsigned or signed by a key not in trustedPublicKeys. */
  requireSignedPackages?: boolean;
  /** Ed25519 public keys (PEM or base64 SPKI) of the department. */
  trustedPublicKeys?: string[];
  /** Model id the policy fixes as active: activating or rolling back to another is refused. */
  pinnedActiveModel?: string;
  /** False: fine-tuning is switched off by policy (checked by assertFineTuningAllowed). */
  fineTuningAllowed?: boolean;
  /** Who acts (default: the OS user name). */
  user?: () => string;
  now?: () => Date;
}

export interface Lineage {
  baseModel: string | null;
  /** SHA-256 of the training data manifest (a CSV's bytes, or a folder's file list). */
  dataManifestSha256: string | null;
  data: string | null;
  recipe: string | null;
  steps: number | null;
}

export interface ThresholdChoice {
  value: number;
  method: string;
  evaluationId: number | null;
  operatingPoint: ChosenThreshold | null;
  chosenAt: string;
  chosenBy: string;
  reason: string;
}

export interface RegisteredVersion {
  versionId: number;
  modelId: string;
  version: string;
  sha256: string;
  name: string;
  origin: 'shipped' | 'local';
  source: string;
  status: VersionStatus;
  /** Still installed (its card found at the last sync); a removed version keeps its history. */
  present: boolean;
  installedAt: string;
  retiredAt: string | null;
  lineage: Lineage;
  cardThreshold: number;
  /** The registry's current choice (null: the card's threshold is used). */
  threshold: ThresholdChoice | null;
  evaluations: EvaluationInfo[];
}

export interface EvaluationInfo {
  evaluationId: number;
  evaluatedAt: string;
  purpose: 'validation' | 'calibration' | 'other';
  origin: 'workstation' | 'card' | 'package';
  dataLabel: string;
  dataFingerprint: string | null;
  count: number;
  metrics: Record<string, number | null>;
  /** Per-image scores are kept (thresholds and ROC curves need them); false for a card's summary. */
  hasScores: boolean;
}

export interface HistoryEvent {
  eventId: number;
  at: string;
  user: string;
  action: EventAction;
  modelId: string | null;
  version: string | null;
  sha256: string | null;
  previousModelId: string | null;
  previousVersion: string | null;
  reason: string;
  detail: string;
}

interface VersionRow {
  id: number;
  model_id: string;
  version: string;
  sha256: string;
  origin: 'shipped' | 'local';
  name: string;
  card_json: string;
  lineage_json: string;
  source: string;
  installed_at: string;
  present: number;
  retired_at: string | null;
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

function osUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown'; // no passwd entry (some containers)
  }
}

/** Lineage as a card's training record tells it (fine-tunes: base model, data, objective, steps). */
export function lineageFromCard(card: ModelCard): Lineage {
  const t = (card.training ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const recipe = [
    str(t['objective']),
    typeof t['lr'] === 'number' ? `lr ${t['lr']}` : null,
    typeof t['seed'] === 'number' ? `seed ${t['seed']}` : null,
  ]
    .filter(Boolean)
    .join(', ');
  return {
    baseModel: str(t['baseModel']),
    dataManifestSha256: str(t['dataManifestSha256']),
    data: str(t['data']),
    recipe: recipe || null,
    steps: typeof t['steps'] === 'number' ? t['steps'] : null,
  };
}

/** SHA-256 of a training data manifest: a CSV's bytes, or a folder's sorted list of relative paths and sizes. */
export async function dataManifestHash(data: string): Promise<string> {
  const info = await stat(data).catch(() => null);
  if (!info) throw new AppError('not_found', `training data ${data} does not exist`);
  if (info.isFile()) return sha256(await readFile(data));
  const lines: string[] = [];
  for (const entry of await readdir(data, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    lines.push(`${full.slice(data.length + 1).replaceAll('\\', '/')}\t${(await stat(full)).size}`);
  }
  return sha256(lines.sort().join('\n'));
}

export function createModelRegistry(options: ModelRegistryOptions) {
  const db: Db = openRegistryDb(join(options.dataDir, 'model-registry.sqlite'));
  const user = options.user ?? osUser;
  const now = () => (options.now ?? (() => new Date()))().toISOString();

  const versionById = (id: number) =>
    db.prepare('SELECT * FROM model_versions WHERE id = ?').get(id) as VersionRow | undefined;
  const logEvent = (e: {
    action: EventAction;
    versionRef: number | null;
    previousRef?: number | null;
    reason?: string;
    detail?: string;
  }) =>
    Number(
      db
        .prepare(
          'INSERT INTO events (at, user, action, version_ref, previous_ref, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(now(), user(), e.action, e.versionRef, e.previousRef ?? null, e.reason ?? '', e.detail ?? '')
        .lastInsertRowid,
    );

  /** The active version: the last activation or rollback (null: none chosen yet, the shipped default is used). */
  const activeRef = (): number | null => {
    const row = db
      .prepare(
        "SELECT version_ref FROM events WHERE action IN ('activated', 'rolled back') ORDER BY id DESC LIMIT 1",
      )
      .get() as { version_ref: number } | undefined;
    return row?.version_ref ?? null;
  };

  const currentThreshold = (versionRef: number): ThresholdChoice | null => {
    const row = db
      .prepare('SELECT * FROM thresholds WHERE version_ref = ? ORDER BY id DESC LIMIT 1')
      .get(versionRef) as
      | {
          value: number;
          method: string;
          evaluation_ref: number | null;
          operating_point_json: string;
          chosen_at: string;
          chosen_by: string;
          reason: string;
        }
      | undefined;
    if (!row) return null;
    return {
      value: row.value,
      method: row.method,
      evaluationId: row.evaluation_ref,
      operatingPoint: JSON.parse(row.operating_point_json) as ChosenThreshold | null,
      chosenAt: row.chosen_at,
      chosenBy: row.chosen_by,
      reason: row.reason,
    };
  };

  const evaluationsOf = (versionRef: number): EvaluationInfo[] =>
    (
      db.prepare('SELECT * FROM evaluations WHERE version_ref = ? ORDER BY id').all(versionRef) as {
        id: number;
        evaluated_at: string;
        purpose: EvaluationInfo['purpose'];
        origin: EvaluationInfo['origin'];
        data_label: string;
        data_fingerprint: string | null;
        image_count: number;
        metrics_json: string;
        scores_json: string;
      }[]
    ).map((r) => ({
      evaluationId: r.id,
      evaluatedAt: r.evaluated_at,
      purpose: r.purpose,
      origin: r.origin,
      dataLabel: r.data_label,
      dataFingerprint: r.data_fingerprint,
      count: r.image_count,
      metrics: JSON.parse(r.metrics_json) as Record<string, number | null>,
      hasScores: r.scores_json !== '[]',
    }));

  const toVersion = (row: VersionRow, active: number | null): RegisteredVersion => {
    const card = JSON.parse(row.card_json) as ModelCard;
    const evaluations = evaluationsOf(row.id);
    const status: VersionStatus = row.retired_at
      ? 'retired'
      : row.id === active
        ? 'active'
        : evaluations.some((e) => e.purpose !== 'calibration')
          ? 'evaluated'
          : 'installed';
    return {
      versionId: row.id,
      modelId: row.model_id,
      version: row.version,
      sha256: row.sha256,
      name: row.name,
      origin: row.origin,
      source: row.source,
      status,
      present: row.present === 1,
      installedAt: row.installed_at,
      retiredAt: row.retired_at,
      lineage: JSON.parse(row.lineage_json) as Lineage,
      cardThreshold: card.threshold,
      threshold: currentThreshold(row.id),
      evaluations,
    };
  };

  /** Reads the installed cards as they are on disk (the registry's own view must not see its state applied). */
  async function installedCards(): Promise<InstalledModel[]> {
    const { models } = await listModels(options.shippedDir, options.localDir);
    // listModels applies the state file; the registry stores the card's own threshold.
    return Promise.all(
      models.map(async (m) => {
        if (m.thresholdSource.kind === 'card') return m;
        const card = modelCardSchema.parse(
          JSON.parse(await readFile(join(m.dir, `${m.card.id}.model.json`), 'utf8')),
        );
        return { ...m, card };
      }),
    );
  }

  const insertEvaluation = (
    versionRef: number,
    e: EvaluationSummary,
    purpose: EvaluationInfo['purpose'],
    origin: EvaluationInfo['origin'],
    evaluatedAt: string,
  ) =>
    Number(
      db
        .prepare(
          'INSERT INTO evaluations (version_ref, evaluated_at, purpose, origin, data_label, data_fingerprint, image_count, metrics_json, scores_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          versionRef,
          evaluatedAt,
          purpose,
          origin,
          e.dataLabel,
          e.fingerprint || null,
          e.count,
          JSON.stringify(e.metrics),
          JSON.stringify(e.scores),
        ).lastInsertRowid,
    );

  /** Registers every installed model version not yet known; marks versions whose card is gone. */
  async function sync(): Promise<void> {
    const models = await installedCards();
    const apply = db.transaction(() => {
      const seen = new Set<number>();
      for (const m of models) {
        const { card } = m;
        let row = db
          .prepare('SELECT * FROM model_versions WHERE model_id = ? AND version = ? AND sha256 = ?')
          .get(card.id, card.version, card.sha256) as VersionRow | undefined;
        if (!row) {
          const id = Number(
            db
              .prepare(
                'INSERT INTO model_versions (model_id, version, sha256, origin, name, card_json, lineage_json, source, installed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
              )
              .run(
                card.id,
                card.version,
                card.sha256,
                m.origin,
                card.name,
                JSON.stringify(card),
                JSON.stringify(lineageFromCard(card)),
                m.origin === 'shipped' ? 'shipped with the app' : 'installed on this workstation',
                now(),
              ).lastInsertRowid,
          );
          logEvent({
            action: 'installed',
            versionRef: id,
            detail: `${m.origin} model, SHA-256 ${card.sha256}`,
          });
          row = versionById(id)!;
        } else if (row.present === 0) {
          db.prepare('UPDATE model_versions SET present = 1 WHERE id = ?').run(row.id);
        }
        seen.add(row.id);
        // A card's own validation results count as an evaluation (shipped cards carry them).
        const metrics = (card.metrics ?? {}) as Record<string, unknown>;
        const evaluatedOn = typeof metrics['evaluatedOn'] === 'string' ? metrics['evaluatedOn'] : null;
        // Any evaluation already recorded: a card's results written by an evaluation here are not counted twice.
        const hasCardEvaluation = db.prepare('SELECT 1 FROM evaluations WHERE version_ref = ?').get(row.id);
        if (evaluatedOn && !hasCardEvaluation) {
          const flat: Record<string, number | null> = {};
          for (const key of ['f1', 'auc'])
            for (const [condition, v] of Object.entries((metrics[key] ?? {}) as Record<string, unknown>))
              flat[`classification.${condition}.${key}`] =
                typeof v === 'number' && Number.isFinite(v) ? v : null;
          if (typeof metrics['psnrGainDb'] === 'number')
            flat['restoration.restored.psnrGain'] = metrics['psnrGainDb'];
          if (typeof metrics['ssimGain'] === 'number')
            flat['restoration.restored.ssimGain'] = metrics['ssimGain'];
          const count = Number(/\((\d+) images\)/.exec(evaluatedOn)?.[1] ?? 0);
          insertEvaluation(
            row.id,
            { dataLabel: evaluatedOn, fingerprint: '', count, metrics: flat, scores: [], evaluatedAt: null },
            'validation',
            'card',
            row.installed_at,
          );
        }
      }
      for (const row of db.prepare('SELECT id FROM model_versions WHERE present = 1').all() as {
        id: number;
      }[])
        if (!seen.has(row.id)) {
          db.prepare('UPDATE model_versions SET present = 0 WHERE id = ?').run(row.id);
          logEvent({
            action: 'removed',
            versionRef: row.id,
            detail: 'its model card is no longer installed',
          });
        }
    });
    apply.immediate();
    await writeState();
  }

  /** The model store's view of the registry (active, retired, thresholds), written atomically. */
  async function writeState(): Promise<void> {
    // The policy's pinned model, else the last activation (none yet: the store falls back to the shipped default).
    const activeRow = options.pinnedActiveModel || activeRef() !== null ? activeVersion() : undefined;
    const rows = db.prepare('SELECT * FROM model_versions ORDER BY id').all() as VersionRow[];
    const state: RegistryState = {
      format: 'r2c-model-registry-state/1',
      active: activeRow
        ? { id: activeRow.model_id, version: activeRow.version, sha256: activeRow.sha256 }
        : null,
      versions: rows.map((r) => {
        const t = currentThreshold(r.id);
        return {
          id: r.model_id,
          version: r.version,
          sha256: r.sha256,
          retired: r.retired_at !== null,
          threshold: t
            ? { value: t.value, method: t.method, chosenAt: t.chosenAt, chosenBy: t.chosenBy }
            : null,
        };
      }),
    };
    await mkdir(options.localDir, { recursive: true });
    await writeFileAtomic(join(options.localDir, REGISTRY_STATE_FILE), `${JSON.stringify(state, null, 1)}\n`);
  }

  /** One installed version by model id (and version, where several versions of an id are known). */
  function resolve(modelId: string, version?: string): VersionRow {
    const rows = db
      .prepare('SELECT * FROM model_versions WHERE model_id = ? ORDER BY present DESC, id DESC')
      .all(modelId) as VersionRow[];
    const matching = version
      ? rows.filter((r) => r.version === version)
      : rows.filter((r) => r.present === 1);
    const row = matching[0] ?? (version ? undefined : rows[0]);
    if (!row) {
      const known = (
        db.prepare('SELECT DISTINCT model_id FROM model_versions').all() as { model_id: string }[]
      ).map((r) => r.model_id);
      throw new AppError(
        'not_found',
        `no model '${modelId}'${version ? ` version ${version}` : ''} in the registry (known: ${known.join(', ') || 'none'})`,
      );
    }
    return row;
  }

  const label = (row: VersionRow) => `${row.model_id} ${row.version}`;

  /** The shipped default (what is active before anyone chose). */
  function implicitActive(): VersionRow | undefined {
    const rows = db
      .prepare(
        "SELECT * FROM model_versions WHERE present = 1 AND retired_at IS NULL ORDER BY origin = 'shipped' DESC, id",
      )
      .all() as VersionRow[];
    return (
      rows.find((r) => r.origin === 'shipped' && (JSON.parse(r.card_json) as ModelCard).default) ?? rows[0]
    );
  }

  function activeVersion(): VersionRow | undefined {
    if (options.pinnedActiveModel) {
      const pinned = db
        .prepare('SELECT * FROM model_versions WHERE model_id = ? AND present = 1 ORDER BY id DESC LIMIT 1')
        .get(options.pinnedActiveModel) as VersionRow | undefined;
      if (pinned) return pinned;
    }
    const ref = activeRef();
    return ref === null ? implicitActive() : versionById(ref);
  }

  function checkPinned(row: VersionRow) {
    if (options.pinnedActiveModel && row.model_id !== options.pinnedActiveModel)
      throw new AppError(
        'forbidden',
        `the workstation policy pins the active model to '${options.pinnedActiveModel}'; ${label(row)} cannot be activated`,
      );
  }

  return {
    sync,

    policy: {
      requireSignedPackages: options.requireSignedPackages ?? false,
      trustedKeys: options.trustedPublicKeys?.length ?? 0,
      pinnedActiveModel: options.pinnedActiveModel ?? null,
      fineTuningAllowed: options.fineTuningAllowed ?? true,
    },

    assertFineTuningAllowed(): void {
      if (options.fineTuningAllowed === false)
        throw new AppError('forbidden', 'fine-tuning is switched off on this workstation by its policy');
    },

    /** Every known version (newest first within a model), after a sync with the installed cards. */
    async list(): Promise<{ versions: RegisteredVersion[]; active: RegisteredVersion | null }> {
      await sync();
      const active = activeVersion();
      const ref = active?.id ?? null;
      const versions = (
        db.prepare('SELECT * FROM model_versions ORDER BY model_id, id DESC').all() as VersionRow[]
      ).map((r) => toVersion(r, ref));
      return { versions, active: versions.find((v) => v.versionId === ref) ?? null };
    },

    /**
     * Makes a version the workstation's active model, recording who, when and why. Refuses a version
     * without an evaluation on validation data unless `confirmUnevaluated`; refuses a retired one.
     */
    async activate(request: {
      modelId: string;
      version?: string;
      reason: string;
      confirmUnevaluated?: boolean;
    }) {
      await sync();
      const row = resolve(request.modelId, request.version);
      const reason = request.reason.trim();
      if (!reason) throw new AppError('bad_input', 'say why the active model changes (a reason is recorded)');
      if (row.present === 0) throw new AppError('not_found', `${label(row)} is no longer installed`);
      if (row.retired_at) throw new AppError('bad_input', `${label(row)} is retired; it cannot be activated`);
      checkPinned(row);
      const previous = activeVersion();
      if (previous?.id === row.id && activeRef() !== null)
        throw new AppError('bad_input', `${label(row)} is already the active model`);
      const evaluated = evaluationsOf(row.id).some((e) => e.purpose !== 'calibration');
      if (!evaluated && !request.confirmUnevaluated)
        throw new AppError(
          'forbidden',
          `${label(row)} has no evaluation on validation data (this workstation's or the shipped one); evaluate it first, or confirm to activate it unevaluated`,
        );
      logEvent({
        action: 'activated',
        versionRef: row.id,
        previousRef: previous?.id ?? null,
        reason,
        detail: evaluated ? '' : 'activated without an evaluation (confirmed by the admin)',
      });
      await writeState();
      return toVersion(row, row.id);
    },

    /** Activates the version that was active before the current one, in one step. */
    async rollback(request: { reason: string }) {
      await sync();
      const last = db
        .prepare("SELECT * FROM events WHERE action IN ('activated', 'rolled back') ORDER BY id DESC LIMIT 1")
        .get() as { version_ref: number; previous_ref: number | null } | undefined;
      if (!last || last.previous_ref === null)
        throw new AppError('bad_input', 'there is no previous active model to roll back to');
      const target = versionById(last.previous_ref)!;
      if (target.present === 0)
        throw new AppError('not_found', `the previous model ${label(target)} is no longer installed`);
      if (target.retired_at)
        throw new AppError('bad_input', `the previous model ${label(target)} is retired`);
      checkPinned(target);
      const reason = request.reason.trim() || 'rollback';
      logEvent({ action: 'rolled back', versionRef: target.id, previousRef: last.version_ref, reason });
      await writeState();
      return toVersion(target, target.id);
    },

    /** Retires a version: never offered as active again; its results stay readable and say so. */
    async retire(request: { modelId: string; version?: string; reason: string }) {
      await sync();
      const row = resolve(request.modelId, request.version);
      if (activeVersion()?.id === row.id)
        throw new AppError('bad_input', `${label(row)} is the active model; activate another first`);
      if (row.retired_at) throw new AppError('bad_input', `${label(row)} is already retired`);
      db.prepare('UPDATE model_versions SET retired_at = ? WHERE id = ?').run(now(), row.id);
      logEvent({ action: 'retired', versionRef: row.id, reason: request.reason.trim() });
      await writeState();
      return toVersion(
        db.prepare('SELECT * FROM model_versions WHERE id = ?').get(row.id) as VersionRow,
        activeRef(),
      );
    },

    /** Records an evaluation (evaluation.json of `r2c eval` or the app's evaluation job) for a version. */
    async recordEvaluation(request: {
      modelId: string;
      version?: string;
      evaluationFile: string;
      purpose: EvaluationInfo['purpose'];
    }) {
      await sync();
      const row = resolve(request.modelId, request.version);
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(request.evaluationFile, 'utf8'));
      } catch (error) {
        throw new AppError(
          'bad_input',
          `cannot read the evaluation ${request.evaluationFile}: ${(error as Error).message}`,
        );
      }
      const model = (raw as { model?: { id?: string; version?: string } }).model;
      if (model?.id && (model.id !== row.model_id || model.version !== row.version))
        throw new AppError(
          'bad_input',
          `${request.evaluationFile} evaluates ${model.id} ${model.version}, not ${label(row)}`,
        );
      const summary = summariseEvaluation(raw, request.evaluationFile);
      const id = insertEvaluation(row.id, summary, request.purpose, 'workstation', now());
      logEvent({
        action: 'evaluated',
        versionRef: row.id,
        detail: `${request.purpose} evaluation #${id} on ${summary.dataLabel} (${summary.count} images)`,
      });
      await writeState();
      return evaluationsOf(row.id).find((e) => e.evaluationId === id)!;
    },

    /** The threshold `target` gives on an evaluation's scores, with sensitivity and specificity (95% CIs). */
    previewThreshold(request: {
      evaluationId: number;
      target: ThresholdTarget;
      condition?: 'pooled' | 'clean' | 'degraded' | 'restored';
    }) {
      const row = db.prepare('SELECT scores_json FROM evaluations WHERE id = ?').get(request.evaluationId) as
        | { scores_json: string }
        | undefined;
      if (!row) throw new AppError('not_found', `no evaluation #${request.evaluationId} in the registry`);
      const records = scoreRecord.array().parse(JSON.parse(row.scores_json));
      if (records.length === 0)
        throw new AppError(
          'bad_input',
          `evaluation #${request.evaluationId} has no per-image scores (a model card's summary); evaluate on a calibration set first`,
        );
      const { scores, actual } = scoresOf(records, request.condition ?? 'pooled');
      return chooseThreshold(scores, actual, request.target);
    },

    /** Chooses and stores a version's threshold from a calibration evaluation (the card is never edited). */
    async setThreshold(request: {
      modelId: string;
      version?: string;
      evaluationId: number;
      target: ThresholdTarget;
      condition?: 'pooled' | 'clean' | 'degraded' | 'restored';
      reason: string;
    }) {
      await sync();
      const row = resolve(request.modelId, request.version);
      const evaluation = evaluationsOf(row.id).find((e) => e.evaluationId === request.evaluationId);
      if (!evaluation)
        throw new AppError(
          'bad_input',
          `evaluation #${request.evaluationId} is not an evaluation of ${label(row)}`,
        );
      const chosen = this.previewThreshold(request);
      const method = `${describeTarget(request.target)} on ${evaluation.purpose} evaluation #${evaluation.evaluationId} (${evaluation.dataLabel}, ${evaluation.count} images, ${request.condition ?? 'clean+degraded'} scores)`;
      db.prepare(
        'INSERT INTO thresholds (version_ref, value, method, evaluation_ref, operating_point_json, chosen_at, chosen_by, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        row.id,
        chosen.threshold,
        method,
        evaluation.evaluationId,
        JSON.stringify(chosen),
        now(),
        user(),
        request.reason.trim(),
      );
      logEvent({
        action: 'threshold',
        versionRef: row.id,
        reason: request.reason.trim(),
        detail: `threshold ${chosen.threshold.toFixed(4)}: ${method}`,
      });
      await writeState();
      return { threshold: currentThreshold(row.id)!, chosen };
    },

    async history(): Promise<HistoryEvent[]> {
      const rows = db
        .prepare(
          `SELECT e.id, e.at, e.user, e.action, e.reason, e.detail, v.model_id, v.version, v.sha256, p.model_id AS p_id, p.version AS p_version
           FROM events e LEFT JOIN model_versions v ON v.id = e.version_ref LEFT JOIN model_versions p ON p.id = e.previous_ref
           ORDER BY e.id DESC`,
        )
        .all() as {
        id: number;
        at: string;
        user: string;
        action: EventAction;
        reason: string;
        detail: string;
        model_id: string | null;
        version: string | null;
        sha256: string | null;
        p_id: string | null;
        p_version: string | null;
      }[];
      return rows.map((r) => ({
        eventId: r.id,
        at: r.at,
        user: r.user,
        action: r.action,
        modelId: r.model_id,
        version: r.version,
        sha256: r.sha256,
        previousModelId: r.p_id,
        previousVersion: r.p_version,
        reason: r.reason,
        detail: r.detail,
      }));
    },

    async historyCsv(): Promise<string> {
      const quote = (v: string | null) => {
        const s = v ?? '';
        // A leading = + - @ would run as a formula in a spreadsheet.
        const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
        return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
      };
      const header = 'time,user,action,model,version,sha256,previous model,previous version,reason,detail';
      const lines = (await this.history())
        .reverse()
        .map((e) =>
          [
            e.at,
            e.user,
            e.action,
            e.modelId,
            e.version,
            e.sha256,
            e.previousModelId,
            e.previousVersion,
            e.reason,
            e.detail,
          ]
            .map(quote)
            .join(','),
        );
      return `${[header, ...lines].join('\r\n')}\r\n`;
    },

    /** Side by side: every metric of evaluations on the same labelled set, and their ROC curves overlaid. */
    compare(request: { evaluationIds: number[]; condition?: 'clean' | 'degraded' | 'restored' }) {
      if (new Set(request.evaluationIds).size < 2)
        throw new AppError('bad_input', 'compare needs at least two evaluations');
      const condition = request.condition ?? 'degraded';
      const columns = request.evaluationIds.map((id) => {
        const r = db
          .prepare(
            'SELECT e.*, v.model_id, v.version, v.sha256 FROM evaluations e JOIN model_versions v ON v.id = e.version_ref WHERE e.id = ?',
          )
          .get(id) as
          | {
              data_fingerprint: string | null;
              data_label: string;
              image_count: number;
              metrics_json: string;
              scores_json: string;
              model_id: string;
              version: string;
              sha256: string;
            }
          | undefined;
        if (!r) throw new AppError('not_found', `no evaluation #${id} in the registry`);
        return {
          evaluationId: id,
          modelId: r.model_id,
          version: r.version,
          sha256: r.sha256,
          dataLabel: r.data_label,
          fingerprint: r.data_fingerprint,
          count: r.image_count,
          metrics: JSON.parse(r.metrics_json) as Record<string, number | null>,
          scores: JSON.parse(r.scores_json) as ScoreRecord[],
        };
      });
      const fingerprints = new Set(columns.map((c) => c.fingerprint));
      if (fingerprints.size !== 1 || columns[0]!.fingerprint === null)
        throw new AppError(
          'bad_input',
          `these evaluations are not on the same labelled set (${columns.map((c) => `#${c.evaluationId} ${c.dataLabel}`).join(', ')}); evaluate the models on the same images`,
        );
      // The model's own results first (classification, then restoration), the classical baselines last.
      const rank = (name: string) =>
        name.includes('baseline') ? 2 : name.startsWith('classification.') ? 0 : 1;
      const metricNames = [...new Set(columns.flatMap((c) => Object.keys(c.metrics)))].sort(
        (a, b) => rank(a) - rank(b) || a.localeCompare(b),
      );
      const rows = metricNames.map((name) => ({
        metric: name,
        values: columns.map((c) => c.metrics[name] ?? null),
      }));
      const series = columns.map((c) => {
        const { scores, actual } = scoresOf(c.scores, condition);
        const points = rocCurve(scores, actual);
        return { name: `${c.modelId} ${c.version}`, points, auc: rocAuc(points) };
      });
      const rocSvg = rocCurveSvg(series, {
        title: `ROC on ${condition} images: ${columns[0]!.dataLabel} (${columns[0]!.count} images)`,
      });
      return {
        dataLabel: columns[0]!.dataLabel,
        count: columns[0]!.count,
        condition,
        models: columns.map(({ evaluationId, modelId, version, sha256 }) => ({
          evaluationId,
          modelId,
          version,
          sha256,
        })),
        rows,
        rocSvg,
      };
    },

    /** One version as one package file (ONNX + card + evaluations + lineage + thresholds), optionally signed. */
    async exportPackage(request: {
      modelId: string;
      version?: string;
      out: string;
      privateKeyPem?: string;
      /** A PEM file holding the department's Ed25519 private key. */
      signingKeyFile?: string;
    }) {
      if (request.signingKeyFile && !request.privateKeyPem) {
        try {
          request = { ...request, privateKeyPem: await readFile(request.signingKeyFile, 'utf8') };
        } catch (error) {
          throw new AppError(
            'not_found',
            `cannot read the signing key ${request.signingKeyFile}: ${(error as Error).message}`,
          );
        }
      }
      await sync();
      const row = resolve(request.modelId, request.version);
      if (row.present === 0) throw new AppError('not_found', `${label(row)} is no longer installed`);
      const installed = (await installedCards()).find(
        (m) => m.card.sha256 === row.sha256 && m.card.id === row.model_id,
      );
      if (!installed) throw new AppError('not_found', `${label(row)} is not installed`);
      const model = await readFile(join(installed.dir, installed.card.file));
      if (sha256(model) !== row.sha256)
        throw new AppError(
          'integrity',
          `${installed.card.file} does not match its model card; refusing to export it`,
        );
      const evaluations = (
        db
          .prepare("SELECT * FROM evaluations WHERE version_ref = ? AND origin != 'card' ORDER BY id")
          .all(row.id) as Record<string, unknown>[]
      ).map((e) => ({
        evaluatedAt: e['evaluated_at'],
        purpose: e['purpose'],
        dataLabel: e['data_label'],
        dataFingerprint: e['data_fingerprint'],
        count: e['image_count'],
        metrics: JSON.parse(e['metrics_json'] as string),
        scores: JSON.parse(e['scores_json'] as string),
      }));
      const threshold = currentThreshold(row.id);
      const bytes = buildPackage(
        {
          card: installed.card,
          model,
          evaluations,
          lineage: JSON.parse(row.lineage_json),
          thresholds: threshold ? [{ ...threshold, operatingPoint: threshold.operatingPoint }] : [],
        },
        {
          createdBy: user(),
          ...(request.privateKeyPem ? { privateKeyPem: request.privateKeyPem } : {}),
          ...(options.now ? { now: options.now() } : {}),
        },
      );
      await writeFileAtomic(request.out, bytes);
      logEvent({
        action: 'exported',
        versionRef: row.id,
        detail: `${basename(request.out)}${request.privateKeyPem ? ', signed' : ', unsigned'}`,
      });
      return {
        file: request.out,
        bytes: bytes.length,
        sha256: sha256(bytes),
        signed: Boolean(request.privateKeyPem),
      };
    },

    /** Verifies a package completely, then installs it as a local model; a refused package installs nothing. */
    async importPackage(request: { file: string }) {
      let bytes: Buffer;
      try {
        const info = await stat(request.file);
        if (!info.isFile()) throw new Error('not a file');
        bytes = await readFile(request.file);
      } catch (error) {
        throw new AppError(
          'not_found',
          `cannot read the model package ${request.file}: ${(error as Error).message}`,
        );
      }
      const pkg = verifyPackage(bytes, {
        ...(options.requireSignedPackages !== undefined
          ? { requireSignedPackages: options.requireSignedPackages }
          : {}),
        ...(options.trustedPublicKeys ? { trustedPublicKeys: options.trustedPublicKeys } : {}),
      });
      const { card } = pkg;
      const evaluations = z_evaluations(pkg.evaluations);
      const installed = await installedCards();
      const same = installed.find((m) => m.card.id === card.id);
      if (same && same.card.sha256 !== card.sha256)
        throw new AppError(
          'bad_input',
          `a different model '${card.id}' (${same.card.version}, SHA-256 ${same.card.sha256.slice(0, 12)}…) is already installed; nothing was installed`,
        );
      const alreadyInstalled = same !== undefined;
      if (!alreadyInstalled) {
        // Model file first, card last: the card is what makes a model visible.
        await mkdir(options.localDir, { recursive: true });
        const modelPath = join(options.localDir, card.file);
        const cardPath = join(options.localDir, `${card.id}.model.json`);
        if (existsSync(modelPath) || existsSync(cardPath))
          throw new AppError(
            'bad_input',
            `${card.file} already exists in ${options.localDir}; nothing was installed`,
          );
        try {
          await writeFileAtomic(modelPath, pkg.model);
          await writeFileAtomic(cardPath, `${JSON.stringify(card, null, 1)}\n`);
        } catch (error) {
          await rm(modelPath, { force: true });
          throw error;
        }
      }
      await sync();
      const row = resolve(card.id, card.version);
      const signedBy = pkg.signer
        ? `signed by key ${pkg.signer}${pkg.trusted ? ' (trusted)' : ' (not a trusted key)'}`
        : 'unsigned';
      db.transaction(() => {
        db.prepare(
          "UPDATE model_versions SET source = ?, lineage_json = ? WHERE id = ? AND origin = 'local'",
        ).run(
          `imported from ${basename(request.file)} (${signedBy})`,
          JSON.stringify({ ...lineageFromCard(card), ...(pkg.lineage as object) }),
          row.id,
        );
        const known = new Set(evaluationsOf(row.id).map((e) => `${e.dataFingerprint}|${e.evaluatedAt}`));
        for (const e of evaluations)
          if (!known.has(`${e.dataFingerprint}|${e.evaluatedAt}`))
            insertEvaluation(
              row.id,
              {
                dataLabel: e.dataLabel,
                fingerprint: e.dataFingerprint ?? '',
                count: e.count,
                metrics: e.metrics,
                scores: e.scores,
                evaluatedAt: e.evaluatedAt,
              },
              e.purpose,
              'package',
              e.evaluatedAt,
            );
        logEvent({
          action: 'imported',
          versionRef: row.id,
          detail: `${basename(request.file)}, ${signedBy}${alreadyInstalled ? ', model already installed' : ''}`,
        });
      }).immediate();
      await writeState();
      return {
        modelId: card.id,
        version: card.version,
        sha256: card.sha256,
        alreadyInstalled,
        signer: pkg.signer,
        trusted: pkg.trusted,
      };
    },

    /**
     * What a stored result's model is now (results name id, version and SHA-256): still installed, its
     * status, and a note a result view shows (e.g. that it came from a retired model).
     */
    provenance(model: { id: string; version: string; sha256: string }) {
      const row = db
        .prepare('SELECT * FROM model_versions WHERE model_id = ? AND version = ? AND sha256 = ?')
        .get(model.id, model.version, model.sha256) as VersionRow | undefined;
      if (!row)
        return {
          known: false,
          status: null,
          present: false,
          note: `${model.id} ${model.version} (SHA-256 ${model.sha256.slice(0, 12)}…) is not in this workstation's model registry`,
        };
      const version = toVersion(row, activeVersion()?.id ?? null);
      const note =
        version.status === 'retired'
          ? `from ${label(row)}, retired on ${row.retired_at?.slice(0, 10)}: the model is no longer in use`
          : !version.present
            ? `from ${label(row)}, which is no longer installed`
            : `from ${label(row)} (${version.status})`;
      return { known: true, status: version.status, present: version.present, note };
    },

    /** Lineage of a fine-tune, recorded when it is installed (the data manifest's hash is taken here). */
    async recordFineTune(request: {
      modelId: string;
      data: string;
      baseModelId: string;
      objective: string;
      steps: number;
    }) {
      await sync();
      const row = resolve(request.modelId);
      const base = (() => {
        try {
          return label(resolve(request.baseModelId));
        } catch {
          return request.baseModelId;
        }
      })();
      const lineage: Lineage = {
        ...(JSON.parse(row.lineage_json) as Lineage),
        baseModel: base,
        dataManifestSha256: await dataManifestHash(request.data),
        data: basename(request.data),
        recipe: `${request.objective} fine-tune`,
        steps: request.steps,
      };
      db.prepare('UPDATE model_versions SET lineage_json = ?, source = ? WHERE id = ?').run(
        JSON.stringify(lineage),
        'fine-tuned on this workstation',
        row.id,
      );
      return lineage;
    },

    close(): void {
      db.close();
    },
  };
}

const packageEvaluations = scoreRecord.array();
function z_evaluations(raw: unknown) {
  if (!Array.isArray(raw))
    throw new AppError(
      'integrity',
      'model package refused: its evaluations are not a list; nothing was installed',
    );
  return raw.map((e: Record<string, unknown>) => {
    const purpose = e['purpose'];
    if (purpose !== 'validation' && purpose !== 'calibration' && purpose !== 'other')
      throw new AppError(
        'integrity',
        'model package refused: an evaluation has no valid purpose; nothing was installed',
      );
    return {
      evaluatedAt: String(e['evaluatedAt']),
      purpose: purpose as EvaluationInfo['purpose'],
      dataLabel: String(e['dataLabel']),
      dataFingerprint: typeof e['dataFingerprint'] === 'string' ? e['dataFingerprint'] : null,
      count: Number(e['count']),
      metrics: (e['metrics'] ?? {}) as Record<string, number | null>,
      scores: packageEvaluations.parse(e['scores'] ?? []),
    };
  });
}

export type ModelRegistry = ReturnType<typeof createModelRegistry>;
