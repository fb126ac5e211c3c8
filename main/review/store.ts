import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import type Database from 'better-sqlite3';
import { AppError } from '../util/errors.ts';
import { openDatabase } from './db.ts';
import { auditTrail, exportCsv, exportJson, results } from './export.ts';
import {
  type ExportKitOptions,
  exportAnswers,
  exportKit,
  importKit,
  kitImagePath,
  mergeAnswers,
  wrappedAnswerKey,
} from './kit.ts';
import {
  generateReaderSecret,
  hashPassphrase,
  hashReaderSecret,
  type OwnerAccess,
  ownerRow,
  type ReaderAccess,
  ReaderTokens,
  readerSecretHash,
  readerSecretMatches,
  requireOwner,
  requireReader,
  requireUnblinded,
  studyState,
} from './owner.ts';
import { answer, goBack, next, resolvePresentation, startOrResumeSession } from './navigation.ts';
import {
  type AnswerInput,
  defaultQuestions,
  type GoBackInput,
  type ReaderInput,
  questionSchema,
  readerInputSchema,
  type StudyConfig,
  type StudyInput,
  studyInputSchema,
} from './schema.ts';
import {
  caseCount,
  createContext,
  loadStudy,
  parseConfig,
  parseInput,
  type StoreContext,
  type StudyRow,
  token,
} from './statements.ts';
import type { ReaderSummary, ReviewStoreOptions, SessionView, StudyDetails, StudySummary } from './types.ts';

// The reader-study service, composed of: types.ts (the shapes it returns, as zod schemas),
// statements.ts (database rows, prepared statements, loading), navigation.ts (a reader's session:
// blinded views, answers, next, going back), export.ts (statistics, CSV, JSON, audit trail), and
// here the studies and readers.

function resolveConfig(input: StudyInput): StudyConfig {
  const parsed = parseInput(studyInputSchema, input, 'study');
  const problems: string[] = [];
  const variantIds = parsed.variants.map((v) => v.id);
  if (new Set(variantIds).size !== variantIds.length) problems.push('variant ids must be unique');
  const imageIds = parsed.images.map((i) => i.id);
  if (new Set(imageIds).size !== imageIds.length) problems.push('image ids must be unique');
  const questions = parsed.questions ?? defaultQuestions.map((q) => questionSchema.parse(q));
  if (new Set(questions.map((q) => q.id)).size !== questions.length)
    problems.push('question ids must be unique');
  let comparisons = parsed.comparisons;
  if (!comparisons) {
    const originals = parsed.variants.filter((v) => v.kind === 'original');
    const [onlyOriginal] = originals;
    comparisons =
      originals.length === 1 && onlyOriginal
        ? parsed.variants
            .filter((v) => v !== onlyOriginal)
            .map((v) => [v.id, onlyOriginal.id] as [string, string])
        : variantIds.flatMap((a, i) => variantIds.slice(i + 1).map((b) => [a, b] as [string, string]));
  }
  const pairKeys = new Set<string>();
  for (const [a, b] of comparisons) {
    if (!variantIds.includes(a) || !variantIds.includes(b))
      problems.push(`comparison ${a} vs ${b} names an unknown variant`);
    if (a === b) problems.push(`comparison ${a} vs ${b} compares a variant with itself`);
    const key = [a, b].sort().join('\u0000');
    if (pairKeys.has(key)) problems.push(`comparison ${a} vs ${b} is listed twice`);
    pairKeys.add(key);
  }
  if (problems.length > 0) throw new AppError('bad_input', `invalid study: ${problems.join('; ')}`);
  return {
    name: parsed.name,
    ...(parsed.description !== undefined ? { description: parsed.description } : {}),
    images: parsed.images,
    variants: parsed.variants,
    comparisons,
    questions,
    blinding: parsed.blinding,
    navigation: parsed.navigation,
    seed: parsed.seed ?? randomInt(0, 0xffffffff),
  };
}

function summary(ctx: StoreContext, row: StudyRow, config: StudyConfig): StudySummary {
  const state = studyState(ctx, row.id);
  return {
    closed: state.closedAt !== null,
    ownerProtected: ownerRow(ctx, row.id) !== undefined,
    origin: state.origin,
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    images: config.images.length,
    variants: config.variants.length,
    cases: caseCount(config),
    readers: ctx.statements.studyReaders.all(row.id).length,
  };
}

/**
 * Adds a reader to a study (the same name is the same reader on this workstation); inside a
 * transaction. secret: the reader's secret for this study (null: reads without one); only its hash
 * and the answers key wrapped with it are kept.
 */
function enrol(
  ctx: StoreContext,
  studyId: string,
  input: ReaderInput,
  secret: string | null = null,
): ReaderSummary {
  const { db, statements, audit, isoNow } = ctx;
  const parsed = parseInput(readerInputSchema, input, 'reader');
  let reader = statements.readerByName.get(parsed.name);
  if (reader && parsed.id !== undefined && parsed.id !== reader.id)
    throw new AppError('bad_input', `a reader with this name already exists with id ${reader.id}`);
  if (!reader) {
    const id = parsed.id ?? token('rd-');
    if (statements.readerById.get(id)) throw new AppError('bad_input', `reader id ${id} is already taken`);
    db.prepare('INSERT INTO readers (id, name, created_at) VALUES (?, ?, ?)').run(id, parsed.name, isoNow());
    reader = { id, name: parsed.name };
  }
  const secretHash = secret === null ? null : hashReaderSecret(secret);
  const added = db
    .prepare(
      'INSERT OR IGNORE INTO study_readers (study_id, reader_id, added_at, secret_hash, answer_key_wrapped) VALUES (?, ?, ?, ?, ?)',
    )
    .run(
      studyId,
      reader.id,
      isoNow(),
      secretHash,
      secret === null ? null : wrappedAnswerKey(ctx, studyId, reader.id, secret),
    );
  if (added.changes === 0 && secretHash !== null)
    throw new AppError('bad_input', `${reader.name} is already a reader of this study`);
  if (added.changes > 0)
    audit(studyId, reader.id, 'reader_added', {
      name: reader.name,
      withSecret: secretHash !== null,
      ...(secretHash !== null ? { actor: 'owner' } : {}),
    });
  return { id: reader.id, name: reader.name };
}

function getStudy(ctx: StoreContext, studyId: string): StudyDetails {
  const { statements } = ctx;
  const { row, config } = loadStudy(ctx, studyId);
  const total = caseCount(config);
  const readerProgress = statements.studyReaders.all(studyId).map((reader) => {
    const session = statements.session.get(studyId, reader.id);
    const completed = session ? statements.completedCount.get(session.id)!.n : 0;
    return {
      ...reader,
      total,
      completed,
      started: session !== undefined,
      finished: session?.finished_at != null,
    };
  });
  return { ...summary(ctx, row, config), config, readerProgress };
}

export type ReviewStore = ReturnType<typeof openReviewStore>;

/** A generated reader secret, shown once at set-up. */
export interface ReaderSecret {
  readerId: string;
  name: string;
  secret: string;
}

/**
 * The reader-study service. Every call is synchronous and each state change is one SQLite
 * transaction, so a crash or kill loses nothing that a call has returned. Blinding is enforced
 * here: session views carry only opaque ids unless the study's blinding options say otherwise.
 */
export function openReviewStore(options: ReviewStoreOptions) {
  // (roles: owner.ts; reading kits: kit.ts builds on the store's context, ctx below)
  const db: Database.Database = openDatabase(options.dataDir);
  const ctx = createContext(db, options.now ?? Date.now);
  const readerTokens = new ReaderTokens(options.now ?? Date.now);
  const asReader = (studyId: string, readerId: string, access: ReaderAccess, action: string) => {
    loadStudy(ctx, studyId);
    requireReader(ctx, readerTokens, studyId, readerId, access, action);
  };

  return {
    /**
     * Creates a study. With an owner passphrase, each reader named gets a generated secret, returned
     * once in readerSecrets (give it to the reader; only its hash is kept).
     */
    createStudy(input: StudyInput): StudyDetails & { readerSecrets: ReaderSecret[] } {
      const config = resolveConfig(input);
      const id = token('st-');
      const readerSecrets: ReaderSecret[] = [];
      db.transaction(() => {
        db.prepare('INSERT INTO studies (id, name, created_at, config) VALUES (?, ?, ?, ?)').run(
          id,
          config.name,
          ctx.isoNow(),
          JSON.stringify(config),
        );
        ctx.audit(id, null, 'study_created', { actor: 'owner', config });
        if (input.ownerPassphrase !== undefined) {
          const keys = generateKeyPairSync('ed25519');
          db.prepare(
            'INSERT INTO study_owners (study_id, passphrase_hash, kit_secret, signing_private_key, signing_public_key) VALUES (?, ?, ?, ?, ?)',
          ).run(
            id,
            hashPassphrase(input.ownerPassphrase),
            randomBytes(32).toString('hex'),
            keys.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
            keys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
          );
        }
        for (const name of input.readers ?? []) {
          if (input.ownerPassphrase === undefined) {
            enrol(ctx, id, { name });
            continue;
          }
          const secret = generateReaderSecret();
          const reader = enrol(ctx, id, { name }, secret);
          readerSecrets.push({ readerId: reader.id, name: reader.name, secret });
        }
      })();
      return { ...getStudy(ctx, id), readerSecrets };
    },

    listStudies(): StudySummary[] {
      return ctx.statements.studies.all().map((row) => summary(ctx, row, parseConfig(row.config)));
    },

    getStudy: (studyId: string): StudyDetails => getStudy(ctx, studyId),

    /**
     * Adds a reader. An owner-protected study: the owner's (passphrase), and the reader gets a secret,
     * the one given or a generated one (returned once as `secret`). A study without an owner: anyone,
     * with a secret only if one is given.
     */
    addReader(
      studyId: string,
      reader: ReaderInput,
      access: OwnerAccess = {},
    ): ReaderSummary & { secret?: string } {
      loadStudy(ctx, studyId);
      if (studyState(ctx, studyId).origin === 'kit')
        throw new AppError(
          'forbidden',
          'readers of a reading kit are added by the study owner, in a new kit',
        );
      const owned = ownerRow(ctx, studyId) !== undefined;
      if (owned) requireOwner(ctx, studyId, access, 'adding a reader');
      const generated = owned && reader.secret === undefined ? generateReaderSecret() : undefined;
      const secret = reader.secret ?? generated ?? null;
      const added = db.transaction(() => enrol(ctx, studyId, { name: reader.name, id: reader.id }, secret))();
      return generated === undefined ? added : { ...added, secret: generated };
    },

    /**
     * The owner gives a reader a new secret (forgotten, or a reader added before secrets): the one
     * given or a generated one, returned. Earlier sign-ins of that reader stay valid until they expire.
     */
    setReaderSecret(
      studyId: string,
      readerId: string,
      access: OwnerAccess,
      secret?: string,
    ): { readerId: string; secret: string } {
      loadStudy(ctx, studyId);
      requireOwner(ctx, studyId, access, "setting a reader's secret");
      readerSecretHash(ctx, studyId, readerId);
      const value = secret ?? generateReaderSecret();
      const hash = hashReaderSecret(value);
      db.transaction(() => {
        db.prepare(
          'UPDATE study_readers SET secret_hash = ?, answer_key_wrapped = ? WHERE study_id = ? AND reader_id = ?',
        ).run(hash, wrappedAnswerKey(ctx, studyId, readerId, value), studyId, readerId);
        ctx.audit(studyId, readerId, 'reader_secret_set', {
          actor: 'owner',
          generated: secret === undefined,
        });
      })();
      return { readerId, secret: value };
    },

    /**
     * A reader signs in with their secret: returns a reader token for the session calls (valid in
     * this process for 12 hours). A wrong secret is audited and refused.
     */
    signInReader(studyId: string, readerId: string, secret: string): { readerToken: string } {
      loadStudy(ctx, studyId);
      const hash = readerSecretHash(ctx, studyId, readerId);
      if (hash !== null && !readerSecretMatches(secret, hash)) {
        ctx.audit(studyId, readerId, 'reader_refused', { action: 'sign-in', reason: 'wrong secret' });
        throw new AppError('forbidden', 'the reader secret is wrong');
      }
      ctx.audit(studyId, readerId, 'reader_signed_in', {});
      return { readerToken: readerTokens.issue(studyId, readerId) };
    },

    /**
     * Creates the reader's randomised session on first call; afterwards returns where they left off.
     * A reader with a secret: only with their token or secret (owner.ts, requireReader).
     */
    startOrResumeSession(studyId: string, readerId: string, access: ReaderAccess = {}): SessionView {
      asReader(studyId, readerId, access, 'reading');
      return startOrResumeSession(ctx, studyId, readerId);
    },

    /** Saves one answer at once (one transaction). Answers may change until the case is finished; after that only if the study allows edits. */
    answer(input: AnswerInput, access: ReaderAccess = {}): SessionView {
      asReader(input.studyId, input.readerId, access, 'answering');
      return answer(ctx, input);
    },

    /** Finishes the case on screen (all required questions answered) and shows the next one. */
    next(studyId: string, readerId: string, access: ReaderAccess = {}): SessionView {
      asReader(studyId, readerId, access, 'reading');
      return next(ctx, studyId, readerId);
    },

    /** Goes back to an earlier finished case, as far as the study's going-back rule allows. */
    goBack(input: GoBackInput, access: ReaderAccess = {}): SessionView {
      asReader(input.studyId, input.readerId, access, 'reading');
      return goBack(ctx, input);
    },

    /**
     * Statistics over every saved answer. Unblinded: for an owner-protected study only with the owner
     * passphrase until the owner closes it (owner.ts, requireUnblinded).
     */
    results: (studyId: string, access: OwnerAccess = {}) => {
      requireUnblinded(ctx, studyId, access, 'results');
      return results(ctx, studyId);
    },

    /** Every rating in MRMC long format (see csv.ts); unblinded like results. */
    exportCsv: (studyId: string, access: OwnerAccess = {}): string => {
      requireUnblinded(ctx, studyId, access, 'exports');
      return exportCsv(ctx, studyId);
    },

    exportJson: (studyId: string, access: OwnerAccess = {}) => {
      requireUnblinded(ctx, studyId, access, 'exports');
      return exportJson(ctx, studyId);
    },

    /** Who did what and when, oldest first (the table rejects updates and deletes); unblinded like results. */
    auditTrail: (studyId: string, access: OwnerAccess = {}) => {
      requireUnblinded(ctx, studyId, access, 'the audit trail');
      return auditTrail(ctx, studyId);
    },

    /** The owner exports a reading kit (zip) to outPath (kit.ts). */
    exportKit: (studyId: string, access: OwnerAccess, outPath: string, kitOptions: ExportKitOptions) =>
      exportKit(ctx, studyId, access, outPath, kitOptions),

    /** A reader's workstation imports a reading kit (every file verified first). */
    importKit: (zipPath: string) => importKit(ctx, options.dataDir, zipPath),

    /**
     * A reader's finished cases of a kit study as an answers file (JSON text), authenticated with the
     * reader's answers key, which only their secret unwraps.
     */
    exportAnswers: (studyId: string, readerId: string, access: ReaderAccess = {}) =>
      exportAnswers(ctx, studyId, readerId, access),

    /** The owner merges a reader's answers file (verified; duplicates and contradictions refused). */
    mergeAnswers: (studyId: string, access: OwnerAccess, text: string) =>
      mergeAnswers(ctx, studyId, access, text),

    /**
     * The kit PNG a presentation shows, for a study imported from a reading kit; null for a study
     * made on this workstation (its images come from the library). Image loader only.
     */
    kitImageOf(presentationId: string): string | null {
      const resolved = resolvePresentation(ctx, presentationId);
      return kitImagePath(ctx, resolved.studyId, resolved.imageId, resolved.variant.id);
    },

    /** Checks the owner passphrase (AppError forbidden otherwise; a wrong one is audited). */
    verifyOwner(studyId: string, access: OwnerAccess): void {
      loadStudy(ctx, studyId);
      requireOwner(ctx, studyId, access, 'owner sign-in');
    },

    /**
     * The owner closes the study: no more reading; results and the audit trail open to everyone on
     * this workstation. A study without an owner closes without a passphrase.
     */
    closeStudy(studyId: string, access: OwnerAccess = {}): StudyDetails {
      loadStudy(ctx, studyId);
      // Outside the transaction, so a refused attempt stays in the audit trail.
      if (ownerRow(ctx, studyId)) requireOwner(ctx, studyId, access, 'closing the study');
      db.transaction(() => {
        const changed = db
          .prepare('UPDATE studies SET closed_at = ? WHERE id = ? AND closed_at IS NULL')
          .run(ctx.isoNow(), studyId).changes;
        if (changed > 0) ctx.audit(studyId, null, 'study_closed', { actor: 'owner' });
      })();
      return getStudy(ctx, studyId);
    },

    /**
     * What a presentation id shows. For the main-process image loader only: never expose it to
     * the renderer over IPC, or the blinding is gone.
     */
    resolvePresentation: (presentationId: string) => resolvePresentation(ctx, presentationId),

    close(): void {
      if (db.open) db.close();
    },
  };
}
