/**
 * Reading kits: offline reader studies across workstations.
 *
 * The owner exports one zip (fflate, streamed: bounded memory) holding the protocol (the study
 * configuration without ground truth), every reader's randomised plan with the owner's case and
 * presentation ids, full-resolution PNGs of every image in every variant (pixels only: no DICOM
 * header, no PNG text chunks, image ids replaced by `img-<n>`), a SHA-256 manifest of every file and,
 * optionally, an Ed25519 signature of the manifest. A reader's workstation imports it (every hash
 * checked, paths checked, the signature verified), reads it like any study, and exports an answers
 * file per reader, authenticated by HMAC-SHA256 with a key only that reader's kit entry and the
 * owner know. The owner merges answer files: the MAC checked (tampering refused), a file merged twice
 * refused, an answer that contradicts one already merged refused, partially read sessions accepted.
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign as signBytes,
  timingSafeEqual,
  verify as verifyBytes,
} from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { Unzip, UnzipInflate, Zip, ZipPassThrough } from 'fflate';
import { z } from 'zod';
import { AppError } from '../util/errors.ts';
import { createSession } from './navigation.ts';
import {
  type OwnerAccess,
  ownerRow,
  type ReaderAccess,
  requireOwner,
  studyState,
  unwrapKey,
  type WrappedKey,
  wrapKey,
} from './owner.ts';
import {
  burnedInRisk,
  type KitImageSource,
  kitDeidentificationProfile,
  leakedIdentifiers,
} from './kit-deidentify.ts';
import type { KitPixels } from './pixels.ts';
import { type StudyConfig, studyConfigSchema, type Variant } from './schema.ts';
import { type CaseRow, loadStudy, parseAnswerValue, type StoreContext } from './statements.ts';

export const kitFormat = 'r2c-reading-kit';
export const answersFormat = 'r2c-reading-answers';
/** 2: readers carry a secret hash and their answers key wrapped with their secret (v1 kits: plain keys). */
export const kitFormatVersion = 2;
const KIT_JSON = 'kit.json';
const MANIFEST = 'manifest.json';
const SIGNATURE = 'signature.json';
/** Largest kit entry accepted on import (a full-resolution 16-bit PNG is far smaller). */
const MAX_ENTRY_BYTES = 512 * 1024 * 1024;

const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/);

const kitCaseSchema = z.strictObject({
  id,
  position: z.number().int().positive(),
  image: id,
  comparison: z.number().int().nonnegative(),
  left: id,
  right: id,
  leftPresentation: id,
  rightPresentation: id,
});
const kitSchema = z.strictObject({
  format: z.literal(kitFormat),
  formatVersion: z.literal(kitFormatVersion),
  kitId: id,
  createdAt: z.string(),
  study: z.strictObject({ id, name: z.string(), config: studyConfigSchema }),
  readers: z.array(
    z.strictObject({
      id,
      name: z.string().min(1).max(200),
      /** scrypt hash of the reader's secret: signing in on the reader's workstation. */
      secretHash: z.string().startsWith('scrypt$').max(300),
      /** The reader's answers key, wrapped with their secret (owner.ts wrapKey). */
      answerKey: z.strictObject({
        salt: z.string().max(100),
        iv: z.string().max(100),
        tag: z.string().max(100),
        data: z.string().max(200),
      }),
    }),
  ),
  sessions: z.array(z.strictObject({ readerId: id, cases: z.array(kitCaseSchema) })),
  images: z.array(z.strictObject({ image: id, variant: id, path: z.string() })),
  /** How the kit was de-identified (kit-deidentify.ts) and the images the owner included despite burned-in text. */
  deidentification: z.strictObject({
    profile: z.string(),
    identifiersChecked: z.boolean(),
    burnedInIncluded: z.array(z.strictObject({ image: id, reason: z.string().max(300) })),
  }),
});
export type ReadingKit = z.infer<typeof kitSchema>;

const manifestSchema = z.strictObject({
  format: z.literal(`${kitFormat}-manifest`),
  deidentification: z.strictObject({ profile: z.string(), burnedInIncluded: z.array(z.string()) }).optional(),
  files: z.array(
    z.strictObject({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int() }),
  ),
});
const signatureSchema = z.strictObject({
  algorithm: z.literal('Ed25519'),
  publicKey: z.string(),
  signature: z.string(),
});

const answerEntrySchema = z.strictObject({
  questionId: id,
  target: z.enum(['left', 'right', 'case']),
  value: z.union([z.number(), z.string().max(10000)]),
  answeredAt: z.string(),
});
const answersBodySchema = z.strictObject({
  format: z.literal(answersFormat),
  formatVersion: z.literal(1),
  kitId: id,
  studyId: id,
  readerId: id,
  reader: z.string(),
  exportedAt: z.string(),
  cases: z.array(
    z.strictObject({
      caseId: id,
      position: z.number().int().positive(),
      firstShownAt: z.string().nullable(),
      completedAt: z.string(),
      timeMs: z.number().int().nonnegative(),
      answers: z.array(answerEntrySchema),
    }),
  ),
});
const answersFileSchema = z.strictObject({
  body: answersBodySchema,
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AnswersFile = z.infer<typeof answersFileSchema>;

/**
 * One image of the study in one variant at full resolution (the owner's app supplies it): a 16-bit
 * greyscale PNG of the values in the original's units and its sidecar (review/pixels.ts).
 */
export type KitImageRenderer = (
  imageId: string,
  variant: Variant,
) => Promise<{ png: Uint8Array; sidecar: KitPixels }>;

export interface ExportKitOptions {
  /** Reader ids to include (default: every reader enrolled). */
  readerIds?: readonly string[] | undefined;
  /** Sign the manifest with the study's Ed25519 key (default true). */
  sign?: boolean | undefined;
  renderImage: KitImageRenderer;
  /**
   * The source of each image (kit-deidentify.ts kitImageSource): burned-in text is refused and no
   * identifying value may reach the kit. Without it (tests of other parts) nothing is checked, and
   * the kit says so.
   */
  describeImage?: ((imageId: string) => KitImageSource) | undefined;
  /** Owner's image ids to put in the kit although they may show burned-in text (audited, in the kit). */
  includeBurnedIn?: readonly string[] | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((done: number, total: number) => void) | undefined;
}

const PNG_METADATA_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME']);

/** The metadata chunks (text, EXIF, time) of a PNG: a kit's PNGs carry none. */
function pngMetadataChunks(png: Uint8Array): string[] {
  const view = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  const found: string[] = [];
  for (let at = 8; at + 8 <= view.length; ) {
    const length = view.readUInt32BE(at);
    const type = view.toString('latin1', at + 4, at + 8);
    if (PNG_METADATA_CHUNKS.has(type)) found.push(type);
    if (type === 'IEND') break;
    at += 12 + length;
  }
  return found;
}

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');
const answerKey = (kitSecret: string, readerId: string): string =>
  createHmac('sha256', Buffer.from(kitSecret, 'hex')).update(`answers:${readerId}`).digest('hex');

/**
 * The reader's answers key wrapped with their secret (JSON), stored when the owner sets the secret,
 * so a kit can carry it without the owner keeping secrets; null for a study without an owner.
 */
export function wrappedAnswerKey(
  ctx: StoreContext,
  studyId: string,
  readerId: string,
  secret: string,
): string | null {
  const owner = ownerRow(ctx, studyId);
  return owner ? JSON.stringify(wrapKey(secret, answerKey(owner.kit_secret, readerId))) : null;
}

interface ReaderKeyRow {
  secret_hash: string | null;
  answer_key_wrapped: string | null;
}
const macOf = (key: string, body: unknown): string =>
  createHmac('sha256', Buffer.from(key, 'hex')).update(JSON.stringify(body)).digest('hex');

function caseRowsOf(ctx: StoreContext, studyId: string, readerId: string): CaseRow[] {
  const session = ctx.statements.session.get(studyId, readerId);
  return session ? ctx.statements.cases.all(session.id) : [];
}

/** Writes a zip to `path` atomically, entry by entry (no compression: PNGs are compressed already). */
class ZipFileWriter {
  private readonly fd: number;
  private readonly temp: string;
  private readonly zip: Zip;
  private error: Error | null = null;

  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.temp = `${path}.${process.pid}.${Date.now()}.tmp`;
    this.fd = openSync(this.temp, 'w');
    this.zip = new Zip((err, chunk) => {
      if (err) this.error = err;
      else writeSync(this.fd, chunk);
    });
  }

  add(name: string, data: Uint8Array): void {
    const entry = new ZipPassThrough(name);
    this.zip.add(entry);
    entry.push(data, true);
    if (this.error) throw this.error;
  }

  finish(): void {
    this.zip.end();
    if (this.error) throw this.error;
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.temp, this.path);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {}
    rmSync(this.temp, { force: true });
  }
}

/**
 * The owner exports a reading kit to `outPath`. Creates the sessions of readers who have none yet
 * (their randomised plans travel in the kit; the owner's ids are the kit's ids).
 */
export async function exportKit(
  ctx: StoreContext,
  studyId: string,
  access: OwnerAccess,
  outPath: string,
  options: ExportKitOptions,
): Promise<{ kitId: string; readers: number; images: number; bytes: number; signed: boolean }> {
  const { row, config } = loadStudy(ctx, studyId);
  const owner = requireOwner(ctx, studyId, access, 'exporting a reading kit');
  if (studyState(ctx, studyId).closedAt !== null)
    throw new AppError('forbidden', 'the study is closed: no more reading kits');
  const enrolled = ctx.statements.studyReaders.all(studyId);
  const readerIds = options.readerIds ?? enrolled.map((r) => r.id);
  const readers = readerIds.map((rid) => {
    const reader = enrolled.find((r) => r.id === rid);
    if (!reader) throw new AppError('not_found', `reader ${rid} is not enrolled in study ${studyId}`);
    return reader;
  });
  if (readers.length === 0) throw new AppError('bad_input', 'add at least one reader before exporting a kit');
  const readerKeys = new Map(
    readers.map((r) => {
      const keys = ctx.db
        .prepare<[string, string], ReaderKeyRow>(
          'SELECT secret_hash, answer_key_wrapped FROM study_readers WHERE study_id = ? AND reader_id = ?',
        )
        .get(studyId, r.id);
      if (!keys?.secret_hash || !keys.answer_key_wrapped)
        throw new AppError(
          'bad_input',
          `reader ${r.name} has no reader secret yet: give them one (owner's desk, "New secret") before exporting a kit`,
        );
      return [
        r.id,
        { secretHash: keys.secret_hash, answerKey: JSON.parse(keys.answer_key_wrapped) as WrappedKey },
      ];
    }),
  );
  ctx.db.transaction(() => {
    for (const r of readers)
      if (!ctx.statements.session.get(studyId, r.id)) createSession(ctx, config, studyId, r.id);
  })();

  const imageKey = new Map(
    config.images.map((image, i) => [image.id, `img-${String(i + 1).padStart(4, '0')}`]),
  );
  const kitId = `kit-${randomBytes(8).toString('hex')}`;
  const kit: ReadingKit = {
    format: kitFormat,
    formatVersion: kitFormatVersion,
    kitId,
    createdAt: ctx.isoNow(),
    study: {
      id: studyId,
      name: row.name,
      config: {
        ...config,
        // Ground truth stays with the owner; image ids become kit keys.
        images: config.images.map((image) => ({ id: imageKey.get(image.id)! })),
      },
    },
    readers: readers.map((r) => ({ id: r.id, name: r.name, ...readerKeys.get(r.id)! })),
    sessions: readers.map((r) => ({
      readerId: r.id,
      cases: caseRowsOf(ctx, studyId, r.id).map((c) => ({
        id: c.id,
        position: c.position,
        image: imageKey.get(c.image_id)!,
        comparison: c.comparison,
        left: c.left_variant,
        right: c.right_variant,
        leftPresentation: c.left_presentation,
        rightPresentation: c.right_presentation,
      })),
    })),
    images: [],
    deidentification: {
      profile: kitDeidentificationProfile,
      identifiersChecked: false,
      burnedInIncluded: [],
    },
  };
  // De-identification: burned-in text first (before anything is rendered), then every entry checked.
  const sources = new Map<string, KitImageSource>();
  if (options.describeImage)
    for (const image of config.images) sources.set(image.id, options.describeImage(image.id));
  const included = new Set(options.includeBurnedIn ?? []);
  for (const imageId of included)
    if (!config.images.some((i) => i.id === imageId))
      throw new AppError('bad_input', `image ${imageId} to include is not in study ${studyId}`);
  const risky = [...sources].flatMap(([imageId, source]) => {
    const reason = burnedInRisk(source);
    return reason ? [{ imageId, name: source.name, reason }] : [];
  });
  const refused = risky.filter((r) => !included.has(r.imageId));
  if (refused.length > 0)
    throw new AppError(
      'bad_input',
      `${refused.length} image(s) may show burned-in text (patient data in the pixels) and are not put in a reading kit unless you include them explicitly after checking them: ${refused
        .map((r) => `${r.name}: ${r.reason}`)
        .join('; ')}`,
    );
  kit.deidentification = {
    profile: kitDeidentificationProfile,
    identifiersChecked: options.describeImage !== undefined,
    burnedInIncluded: risky.map((r) => ({ image: imageKey.get(r.imageId)!, reason: r.reason })),
  };
  const usedVariants = new Set(config.comparisons.flat());
  const variants = config.variants.filter((v) => usedVariants.has(v.id));
  const writer = new ZipFileWriter(outPath);
  const files: { path: string; sha256: string; size: number }[] = [];
  const add = (path: string, data: Uint8Array | string) => {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (path.endsWith('.png')) {
      const chunks = pngMetadataChunks(bytes);
      if (chunks.length > 0)
        throw new AppError(
          'integrity',
          `kit image ${path} carries PNG metadata (${chunks.join(', ')}): refused`,
        );
    } else {
      // The value itself is never put in the message (messages reach logs).
      const leaks = leakedIdentifiers(bytes, sources.values());
      if (leaks.length > 0)
        throw new AppError(
          'integrity',
          `the kit's ${path} would carry identifying data (a value of the DICOM header or the file name) of ${[
            ...new Set(leaks.map((l) => l.image)),
          ].join(', ')}: nothing written. Check the study's name and description.`,
        );
    }
    writer.add(path, bytes);
    files.push({ path, sha256: sha256(bytes), size: bytes.byteLength });
  };
  try {
    const total = config.images.length * variants.length;
    let done = 0;
    for (const image of config.images)
      for (const variant of variants) {
        if (options.signal?.aborted) throw new AppError('cancelled', 'cancelled');
        const { png, sidecar } = await options.renderImage(image.id, variant);
        const path = `images/${imageKey.get(image.id)}/${variant.id}.png`;
        add(path, png);
        add(path.replace(/\.png$/, '.json'), `${JSON.stringify(sidecar)}\n`);
        kit.images.push({ image: imageKey.get(image.id)!, variant: variant.id, path });
        options.onProgress?.(++done, total);
      }
    add(KIT_JSON, `${JSON.stringify(kit, null, 2)}\n`);
    const manifest = `${JSON.stringify(
      {
        format: `${kitFormat}-manifest`,
        deidentification: {
          profile: kit.deidentification.profile,
          burnedInIncluded: kit.deidentification.burnedInIncluded.map((b) => b.image),
        },
        files,
      },
      null,
      2,
    )}\n`;
    writer.add(MANIFEST, Buffer.from(manifest));
    const signed = options.sign !== false;
    if (signed) {
      const key = createPrivateKey({
        key: Buffer.from(owner.signing_private_key, 'base64'),
        format: 'der',
        type: 'pkcs8',
      });
      const signature = {
        algorithm: 'Ed25519',
        publicKey: owner.signing_public_key,
        signature: signBytes(null, Buffer.from(manifest), key).toString('base64'),
      };
      writer.add(SIGNATURE, Buffer.from(JSON.stringify(signature, null, 2)));
    }
    writer.finish();
    ctx.audit(studyId, null, 'kit_exported', {
      actor: 'owner',
      kitId,
      readers: readers.map((r) => r.id),
      images: kit.images.length,
      signed,
      identifiersChecked: kit.deidentification.identifiersChecked,
      burnedInIncluded: risky.map((r) => ({ imageId: r.imageId, reason: r.reason })),
    });
    const bytes = files.reduce((s, f) => s + f.size, 0);
    return { kitId, readers: readers.length, images: kit.images.length, bytes, signed };
  } catch (error) {
    writer.abort();
    throw error;
  }
}

/** Entry names a kit may hold: kit.json, manifest.json, signature.json, images/<key>/<variant>.png and .json. */
function safeEntry(name: string): boolean {
  return (
    name === KIT_JSON ||
    name === MANIFEST ||
    name === SIGNATURE ||
    /^images\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_-][A-Za-z0-9_.-]*\.(png|json)$/.test(name)
  );
}

/** Streams a zip's entries to files under `dir` (bounded memory), returning each entry's SHA-256 and size. */
function extractZip(zipPath: string, dir: string): Map<string, { sha256: string; size: number }> {
  const out = new Map<string, { sha256: string; size: number }>();
  const unzip = new Unzip();
  unzip.register(UnzipInflate);
  let failure: Error | null = null;
  unzip.onfile = (file) => {
    if (failure) return;
    if (!safeEntry(file.name) || out.has(file.name)) {
      failure = new AppError(
        'integrity',
        `the kit holds an unexpected or repeated entry: ${file.name.slice(0, 120)}`,
      );
      return;
    }
    const target = join(dir, file.name);
    mkdirSync(dirname(target), { recursive: true });
    const fd = openSync(target, 'w');
    const hash = createHash('sha256');
    let size = 0;
    file.ondata = (err, chunk, final) => {
      if (err) failure = new AppError('integrity', `the kit is damaged (${file.name}): ${err.message}`);
      else {
        size += chunk.byteLength;
        if (size > MAX_ENTRY_BYTES)
          failure = new AppError('integrity', `kit entry ${file.name} is too large`);
        else {
          writeSync(fd, chunk);
          hash.update(chunk);
        }
      }
      if (final || failure) {
        closeSync(fd);
        out.set(file.name, { sha256: hash.digest('hex'), size });
      }
    };
    file.start();
  };
  const fd = openSync(zipPath, 'r');
  try {
    const buffer = Buffer.alloc(1 << 20);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      unzip.push(buffer.subarray(0, n), n === 0);
      if (failure) throw failure;
      if (n === 0) break;
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('integrity', `the kit is not a readable zip: ${(error as Error).message}`);
  } finally {
    closeSync(fd);
  }
  return out;
}

export interface KitImportSummary {
  studyId: string;
  name: string;
  kitId: string;
  readers: { id: string; name: string }[];
  images: number;
  signed: boolean;
  /** SHA-256 of the signing key (compare with the owner's, e.g. by phone). */
  signerFingerprint: string | null;
}

/** Where a workstation keeps imported kits' images. */
export const kitsDir = (dataDir: string): string => join(dataDir, 'reading-kits');

/** A reader's workstation imports a kit: every file checked against the manifest before anything is stored. */
export function importKit(ctx: StoreContext, dataDir: string, zipPath: string): KitImportSummary {
  if (!existsSync(zipPath)) throw new AppError('not_found', `no reading kit at ${zipPath}`);
  const staging = join(kitsDir(dataDir), `.staging-${randomBytes(6).toString('hex')}`);
  mkdirSync(staging, { recursive: true });
  try {
    const entries = extractZip(zipPath, staging);
    const manifestInfo = entries.get(MANIFEST);
    if (!manifestInfo) throw new AppError('integrity', 'the kit has no manifest.json');
    const manifestText = readFileSync(join(staging, MANIFEST));
    const manifest = parseJson(manifestSchema, manifestText.toString('utf8'), 'kit manifest');
    let signerFingerprint: string | null = null;
    if (entries.has(SIGNATURE)) {
      const signature = parseJson(
        signatureSchema,
        readFileSync(join(staging, SIGNATURE), 'utf8'),
        'kit signature',
      );
      const key = createPublicKey({
        key: Buffer.from(signature.publicKey, 'base64'),
        format: 'der',
        type: 'spki',
      });
      if (!verifyBytes(null, manifestText, key, Buffer.from(signature.signature, 'base64')))
        throw new AppError('integrity', 'the kit signature does not match its manifest: the kit was altered');
      signerFingerprint = sha256(Buffer.from(signature.publicKey, 'base64'));
    }
    const listed = new Set(manifest.files.map((f) => f.path));
    for (const name of entries.keys())
      if (name !== MANIFEST && name !== SIGNATURE && !listed.has(name))
        throw new AppError('integrity', `kit entry ${name} is not in the manifest`);
    for (const file of manifest.files) {
      const got = entries.get(file.path);
      if (!got) throw new AppError('integrity', `the kit is missing ${file.path}`);
      if (got.sha256 !== file.sha256 || got.size !== file.size)
        throw new AppError(
          'integrity',
          `${file.path} does not match its SHA-256 in the manifest: the kit was altered or damaged`,
        );
    }
    const kitText = readFileSync(join(staging, KIT_JSON), 'utf8');
    const version = (JSON.parse(kitText) as { formatVersion?: unknown }).formatVersion;
    // A version-1 kit is not opened even read-only: it has no reader secrets (anyone at this
    // workstation could read and export answers in any reader's name) and was made before kits were
    // checked for patient identifiers. The message says what the owner has to do.
    if (version !== kitFormatVersion)
      throw new AppError(
        'unsupported',
        `${version === 1 ? 'this reading kit was made by an older version of R2C (kit format 1: readers without secrets, not checked for patient identifiers), so it is not opened' : `this reading kit has format version ${String(version)}; this app reads version ${kitFormatVersion}`}. Ask the study owner for a new kit: on their workstation, Review, open the study as Owner, give every reader a secret (New secret), then Export reading kit; import that file here. Each reader then signs in with their secret.`,
      );
    const kit = parseJson(kitSchema, kitText, 'kit');
    for (const image of kit.images)
      if (!entries.has(image.path)) throw new AppError('integrity', `the kit is missing ${image.path}`);
    if (ctx.statements.study.get(kit.study.id))
      throw new AppError(
        'bad_input',
        `study ${kit.study.id} (${kit.study.name}) is already on this workstation`,
      );
    const finalDir = join(kitsDir(dataDir), kit.study.id);
    rmSync(finalDir, { recursive: true, force: true });
    ctx.db.transaction(() => {
      const { db, isoNow, now } = ctx;
      db.prepare("INSERT INTO studies (id, name, created_at, config, origin) VALUES (?, ?, ?, ?, 'kit')").run(
        kit.study.id,
        kit.study.name,
        isoNow(),
        JSON.stringify(kit.study.config),
      );
      for (const reader of kit.readers) {
        const byName = ctx.statements.readerByName.get(reader.name);
        if (byName && byName.id !== reader.id)
          throw new AppError(
            'bad_input',
            `a different reader named ${reader.name} already exists on this workstation`,
          );
        if (!ctx.statements.readerById.get(reader.id))
          db.prepare('INSERT INTO readers (id, name, created_at) VALUES (?, ?, ?)').run(
            reader.id,
            reader.name,
            isoNow(),
          );
        db.prepare(
          'INSERT INTO study_readers (study_id, reader_id, added_at, secret_hash) VALUES (?, ?, ?, ?)',
        ).run(kit.study.id, reader.id, isoNow(), reader.secretHash);
      }
      const insertCase = db.prepare(
        `INSERT INTO session_cases (id, session_id, position, image_id, comparison, left_variant, right_variant,
           left_presentation, right_presentation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const session of kit.sessions) {
        const sessionId = Number(
          db
            .prepare(
              'INSERT INTO sessions (study_id, reader_id, started_at, position, last_event_ms) VALUES (?, ?, ?, 1, ?)',
            )
            .run(kit.study.id, session.readerId, isoNow(), now()).lastInsertRowid,
        );
        for (const c of session.cases)
          insertCase.run(
            c.id,
            sessionId,
            c.position,
            c.image,
            c.comparison,
            c.left,
            c.right,
            c.leftPresentation,
            c.rightPresentation,
          );
      }
      db.prepare(
        'INSERT INTO kit_studies (study_id, kit_id, image_dir, reader_keys, signing_public_key, imported_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(
        kit.study.id,
        kit.kitId,
        finalDir,
        JSON.stringify(Object.fromEntries(kit.readers.map((r) => [r.id, r.answerKey]))),
        signerFingerprint,
        isoNow(),
      );
      ctx.audit(kit.study.id, null, 'kit_imported', {
        kitId: kit.kitId,
        readers: kit.readers.map((r) => r.id),
        signed: signerFingerprint !== null,
      });
      renameSync(join(staging, 'images'), finalDir);
    })();
    return {
      studyId: kit.study.id,
      name: kit.study.name,
      kitId: kit.kitId,
      readers: kit.readers.map((r) => ({ id: r.id, name: r.name })),
      images: kit.images.length,
      signed: signerFingerprint !== null,
      signerFingerprint,
    };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function parseJson<S extends z.ZodType>(schema: S, text: string, what: string): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AppError('bad_input', `the ${what} is not JSON`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new AppError(
      'bad_input',
      `the ${what} is not valid: ${parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`)
        .join('; ')}`,
    );
  return parsed.data;
}

interface KitStudyRow {
  study_id: string;
  kit_id: string;
  image_dir: string;
  reader_keys: string;
}

const kitStudy = (ctx: StoreContext, studyId: string): KitStudyRow | undefined =>
  ctx.db.prepare<[string], KitStudyRow>('SELECT * FROM kit_studies WHERE study_id = ?').get(studyId);

/** The PNG file of a presentation in a study imported from a kit; null for a study made here. */
export function kitImagePath(
  ctx: StoreContext,
  studyId: string,
  imageKey: string,
  variantId: string,
): string | null {
  const row = kitStudy(ctx, studyId);
  if (!row) return null;
  return join(row.image_dir, imageKey, `${variantId}.png`);
}

/** A reader's finished cases as an answers file (JSON text), on the workstation that imported the kit. */
export function exportAnswers(
  ctx: StoreContext,
  studyId: string,
  readerId: string,
  access: ReaderAccess,
): { text: string; cases: number } {
  const { row } = loadStudy(ctx, studyId);
  const kit = kitStudy(ctx, studyId);
  if (!kit)
    throw new AppError(
      'bad_input',
      `study ${studyId} was not imported from a reading kit; its answers are already here`,
    );
  const wrapped = (JSON.parse(kit.reader_keys) as Record<string, WrappedKey>)[readerId];
  const reader = ctx.statements.readerById.get(readerId);
  if (!wrapped || !reader) throw new AppError('not_found', `reader ${readerId} is not in this kit`);
  if (access.readerSecret === undefined)
    throw new AppError('forbidden', `exporting ${reader.name}'s answers needs their reader secret`);
  const key = unwrapKey(access.readerSecret, wrapped);
  if (key === null) {
    ctx.audit(studyId, readerId, 'reader_refused', { action: 'exporting answers', reason: 'wrong secret' });
    throw new AppError('forbidden', `the reader secret is wrong: ${reader.name}'s answers are not exported`);
  }
  const session = ctx.statements.session.get(studyId, readerId);
  const cases = (session ? ctx.statements.cases.all(session.id) : [])
    .filter((c) => c.completed_at !== null)
    .map((c) => ({
      caseId: c.id,
      position: c.position,
      firstShownAt: c.first_shown_at,
      completedAt: c.completed_at!,
      timeMs: c.time_ms,
      answers: ctx.statements.answersOfCase
        .all(c.id)
        .sort((a, b) => (a.question_id + a.target < b.question_id + b.target ? -1 : 1))
        .map((a) => ({
          questionId: a.question_id,
          target: a.target,
          value: parseAnswerValue(a.value),
          answeredAt: a.answered_at,
        })),
    }));
  const body = {
    format: answersFormat,
    formatVersion: 1 as const,
    kitId: kit.kit_id,
    studyId,
    readerId,
    reader: reader.name,
    exportedAt: ctx.isoNow(),
    cases,
  };
  ctx.audit(studyId, readerId, 'answers_exported', { cases: cases.length, study: row.name });
  return { text: `${JSON.stringify({ body, mac: macOf(key, body) }, null, 2)}\n`, cases: cases.length };
}

export interface MergeSummary {
  readerId: string;
  reader: string;
  /** Cases merged now. */
  merged: number;
  /** Cases in the file that were merged before with the same answers. */
  alreadyMerged: number;
  /** The reader's cases finished after merging, of their total. */
  completed: number;
  total: number;
}

function checkValue(
  config: StudyConfig,
  c: CaseRow,
  answer: z.infer<typeof answerEntrySchema>,
): string | null {
  const question = config.questions.find((q) => q.id === answer.questionId);
  if (!question) return `no question ${answer.questionId}`;
  if ((question.scope === 'each') !== (answer.target !== 'case'))
    return `question ${question.id} has the wrong target`;
  const v = answer.value;
  switch (question.kind) {
    case 'score':
      return typeof v === 'number' && Number.isInteger(v) && v >= question.min && v <= question.max
        ? null
        : `score ${String(v)} out of range`;
    case 'forced-choice':
      return v === c.left_variant || v === c.right_variant
        ? null
        : 'forced choice names an image not in the case';
    case 'choice':
      return typeof v === 'string' && question.options.includes(v) ? null : `option ${String(v)} unknown`;
    case 'comment':
      return typeof v === 'string' && v.length <= question.maxLength ? null : 'comment too long';
  }
}

/** The owner merges one reader's answers file into the study (one transaction: all or nothing). */
export function mergeAnswers(
  ctx: StoreContext,
  studyId: string,
  access: OwnerAccess,
  text: string,
): MergeSummary {
  const { config } = loadStudy(ctx, studyId);
  const owner = requireOwner(ctx, studyId, access, 'merging answers');
  if (studyState(ctx, studyId).closedAt !== null)
    throw new AppError('forbidden', 'the study is closed: no more answers');
  const file = parseJson(answersFileSchema, text, 'answers file');
  const { body } = file;
  if (body.studyId !== studyId)
    throw new AppError('bad_input', `the answers file is for study ${body.studyId}, not ${studyId}`);
  const enrolledReader = ctx.statements.studyReaders.all(studyId).find((r) => r.id === body.readerId);
  const expected = Buffer.from(macOf(answerKey(owner.kit_secret, body.readerId), body), 'hex');
  if (!enrolledReader || !timingSafeEqual(expected, Buffer.from(file.mac, 'hex'))) {
    ctx.audit(studyId, null, 'answers_refused', {
      actor: 'owner',
      reason: 'authentication failed',
      readerId: body.readerId,
    });
    throw new AppError(
      'integrity',
      enrolledReader
        ? `the answers file was altered, or was not signed with ${enrolledReader.name}'s own answers key (its MAC does not match): refused`
        : `the answers file names reader ${body.readerId}, who is not a reader of this study: refused`,
    );
  }
  // The enrolled name, not the file's (the MAC proves the reader id; the name is informational).
  body.reader = enrolledReader.name;
  const fileHash = sha256(text);
  if (ctx.db.prepare('SELECT 1 FROM merged_answer_files WHERE sha256 = ?').get(fileHash))
    throw new AppError(
      'bad_input',
      `this answers file (${body.reader}, ${body.cases.length} cases) was merged already`,
    );
  const session = ctx.statements.session.get(studyId, body.readerId);
  if (!session) throw new AppError('not_found', `reader ${body.reader} has no session in this study`);
  const rows = new Map(ctx.statements.cases.all(session.id).map((c) => [c.id, c]));
  let merged = 0;
  let alreadyMerged = 0;
  ctx.db.transaction(() => {
    const seen = new Set<string>();
    for (const entry of body.cases) {
      const c = rows.get(entry.caseId);
      if (!c || c.position !== entry.position)
        throw new AppError('integrity', `case ${entry.caseId} is not in ${body.reader}'s plan`);
      if (seen.has(entry.caseId))
        throw new AppError('bad_input', `case ${entry.caseId} appears twice in the file`);
      seen.add(entry.caseId);
      for (const a of entry.answers) {
        const problem = checkValue(config, c, a);
        if (problem) throw new AppError('bad_input', `case at position ${entry.position}: ${problem}`);
      }
      const existing = ctx.statements.answersOfCase.all(c.id);
      if (c.completed_at !== null) {
        const same =
          existing.length === entry.answers.length &&
          entry.answers.every((a) =>
            existing.some(
              (e) =>
                e.question_id === a.questionId &&
                e.target === a.target &&
                parseAnswerValue(e.value) === a.value,
            ),
          );
        if (!same)
          throw new AppError(
            'bad_input',
            `case at position ${entry.position} of ${body.reader} was merged before with different answers; nothing merged`,
          );
        alreadyMerged++;
        continue;
      }
      for (const a of entry.answers)
        ctx.statements.upsertAnswer.run(c.id, a.questionId, a.target, JSON.stringify(a.value), a.answeredAt);
      ctx.db
        .prepare('UPDATE session_cases SET first_shown_at = ?, completed_at = ?, time_ms = ? WHERE id = ?')
        .run(entry.firstShownAt, entry.completedAt, entry.timeMs, c.id);
      merged++;
    }
    const frontier = ctx.statements.frontier.get(session.id)?.p ?? rows.size + 1;
    ctx.statements.setPosition.run(frontier, ctx.now(), session.id);
    if (frontier > rows.size) ctx.statements.finishSession.run(ctx.isoNow(), session.id);
    ctx.db
      .prepare(
        'INSERT INTO merged_answer_files (sha256, study_id, reader_id, merged_at, cases) VALUES (?, ?, ?, ?, ?)',
      )
      .run(fileHash, studyId, body.readerId, ctx.isoNow(), body.cases.length);
    ctx.audit(studyId, body.readerId, 'answers_merged', {
      actor: 'owner',
      kitId: body.kitId,
      merged,
      alreadyMerged,
      exportedAt: body.exportedAt,
      sha256: fileHash,
    });
  })();
  return {
    readerId: body.readerId,
    reader: body.reader,
    merged,
    alreadyMerged,
    completed: ctx.statements.completedCount.get(session.id)!.n,
    total: rows.size,
  };
}
