import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  randomInt,
  scryptSync,
  timingSafeEqual,
} from 'node:crypto';
import { AppError } from '../util/errors.ts';
import type { StoreContext } from './statements.ts';

/**
 * The study owner: a per-study passphrase (scrypt, node:crypto) that unlocks set-up, monitoring,
 * unblinded results, the audit trail, reading kits and merging. Readers never need it. A study
 * without an owner passphrase (made by the API or the CLI before roles existed) stays open.
 */

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, maxmem: 64 * 1024 * 1024 } as const;
export const minPassphraseLength = 8;

export function hashPassphrase(passphrase: string, what = 'the owner passphrase'): string {
  if (passphrase.length < minPassphraseLength)
    throw new AppError('bad_input', `${what} needs at least ${minPassphraseLength} characters`);
  const salt = randomBytes(16);
  const hash = scryptSync(passphrase.normalize('NFC'), salt, SCRYPT.keyLength, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export function passphraseMatches(passphrase: string, stored: string): boolean {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash)
    throw new AppError('internal', 'the stored owner passphrase hash is malformed');
  const expected = Buffer.from(hash, 'base64');
  const actual = scryptSync(passphrase.normalize('NFC'), Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return timingSafeEqual(actual, expected);
}

export interface OwnerRow {
  study_id: string;
  passphrase_hash: string;
  kit_secret: string;
  signing_private_key: string;
  signing_public_key: string;
}

/** What a caller offers to act as the study owner. */
export interface OwnerAccess {
  ownerPassphrase?: string | undefined;
}

export function ownerRow(ctx: StoreContext, studyId: string): OwnerRow | undefined {
  return ctx.db.prepare<[string], OwnerRow>('SELECT * FROM study_owners WHERE study_id = ?').get(studyId);
}

export function studyState(
  ctx: StoreContext,
  studyId: string,
): { closedAt: string | null; origin: 'local' | 'kit' } {
  const row = ctx.db
    .prepare<[string], { closed_at: string | null; origin: 'local' | 'kit' }>(
      'SELECT closed_at, origin FROM studies WHERE id = ?',
    )
    .get(studyId);
  if (!row) throw new AppError('not_found', `no reader study with id ${studyId}`);
  return { closedAt: row.closed_at, origin: row.origin };
}

/**
 * Checks the owner passphrase (always required, even for a closed study): for set-up and merging.
 * A wrong passphrase is audited. Returns the owner row.
 */
export function requireOwner(
  ctx: StoreContext,
  studyId: string,
  access: OwnerAccess,
  action: string,
): OwnerRow {
  const owner = ownerRow(ctx, studyId);
  if (!owner)
    throw new AppError(
      'forbidden',
      `study ${studyId} has no owner on this workstation; ${action} is for its owner`,
    );
  if (
    access.ownerPassphrase === undefined ||
    !passphraseMatches(access.ownerPassphrase, owner.passphrase_hash)
  ) {
    ctx.audit(studyId, null, 'owner_refused', { actor: 'owner', action });
    throw new AppError('forbidden', `the owner passphrase is wrong: ${action} is for the study owner`);
  }
  return owner;
}

/**
 * Unblinded results, exports and the audit trail: open once the owner has closed the study; before
 * that only with the owner passphrase. A study imported from a reading kit never shows them (its
 * results are the owner's, after merging). A study without an owner stays open (API/CLI studies).
 */
export function requireUnblinded(
  ctx: StoreContext,
  studyId: string,
  access: OwnerAccess,
  what: string,
): void {
  const { closedAt, origin } = studyState(ctx, studyId);
  if (origin === 'kit')
    throw new AppError(
      'forbidden',
      `${what} of a study read from a reading kit are only on the owner's workstation, after merging the answers`,
    );
  const owner = ownerRow(ctx, studyId);
  if (!owner || closedAt !== null) return;
  if (access.ownerPassphrase === undefined)
    throw new AppError('forbidden', `${what}: hidden until the study owner closes the study`);
  requireOwner(ctx, studyId, access, what);
}

/* ---------------------------------------------------------------------------------------------
 * Readers: a secret per reader and study (set by the owner or generated and shown once), stored as
 * an scrypt hash in study_readers.secret_hash. Signing in with it gives a reader token (kept in this
 * process only) that the session calls carry, so the secret is hashed once per sign-in, not per key.
 * ------------------------------------------------------------------------------------------- */

/** What a caller offers to act as a reader: the secret, or the token a sign-in returned. */
export interface ReaderAccess {
  readerSecret?: string | undefined;
  readerToken?: string | undefined;
}

/** Letters that cannot be misread (no i, l, o, u), as in Crockford's base32. */
const SECRET_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** A generated reader secret: 12 characters from 32 (60 bits), grouped as xxxx-xxxx-xxxx. */
export function generateReaderSecret(): string {
  const chars = Array.from({ length: 12 }, () => SECRET_ALPHABET[randomInt(SECRET_ALPHABET.length)]);
  return [0, 4, 8].map((i) => chars.slice(i, i + 4).join('')).join('-');
}

/** Reader secrets as typed: surrounding spaces dropped; a generated one also in capitals. */
const normaliseSecret = (secret: string): string => {
  const trimmed = secret.trim();
  return /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/i.test(trimmed) ? trimmed.toLowerCase() : trimmed;
};

export const hashReaderSecret = (secret: string): string =>
  hashPassphrase(normaliseSecret(secret), 'a reader secret');

export const readerSecretMatches = (secret: string, stored: string): boolean =>
  passphraseMatches(normaliseSecret(secret), stored);

/** Reader tokens of this process: a sign-in is valid for 12 hours or until the app closes. */
export class ReaderTokens {
  private readonly tokens = new Map<string, { studyId: string; readerId: string; expires: number }>();
  constructor(private readonly now: () => number) {}

  issue(studyId: string, readerId: string): string {
    for (const [token, t] of this.tokens)
      if ((t.studyId === studyId && t.readerId === readerId) || t.expires < this.now())
        this.tokens.delete(token);
    const token = randomBytes(32).toString('hex');
    this.tokens.set(token, { studyId, readerId, expires: this.now() + 12 * 3600_000 });
    return token;
  }

  valid(token: string, studyId: string, readerId: string): boolean {
    const t = this.tokens.get(token);
    return t !== undefined && t.studyId === studyId && t.readerId === readerId && t.expires >= this.now();
  }
}

export function readerSecretHash(ctx: StoreContext, studyId: string, readerId: string): string | null {
  const row = ctx.db
    .prepare<[string, string], { secret_hash: string | null }>(
      'SELECT secret_hash FROM study_readers WHERE study_id = ? AND reader_id = ?',
    )
    .get(studyId, readerId);
  if (!row) throw new AppError('not_found', `reader ${readerId} is not enrolled in study ${studyId}`);
  return row.secret_hash;
}

/**
 * Checks that the caller is this reader: their token or secret. A reader without a secret (added
 * before secrets existed, or to a study without an owner) passes. A refusal is audited.
 */
export function requireReader(
  ctx: StoreContext,
  tokens: ReaderTokens,
  studyId: string,
  readerId: string,
  access: ReaderAccess,
  action: string,
): void {
  const hash = readerSecretHash(ctx, studyId, readerId);
  if (hash === null) return;
  if (access.readerToken !== undefined && tokens.valid(access.readerToken, studyId, readerId)) return;
  if (access.readerSecret !== undefined && readerSecretMatches(access.readerSecret, hash)) return;
  ctx.audit(studyId, readerId, 'reader_refused', {
    action,
    reason:
      access.readerSecret === undefined && access.readerToken === undefined ? 'no secret' : 'wrong secret',
  });
  throw new AppError(
    'forbidden',
    access.readerSecret === undefined && access.readerToken === undefined
      ? `${action} needs the reader's secret`
      : `the reader secret is wrong (or the sign-in has expired): ${action} refused`,
  );
}

/**
 * A reader's answers key travels in a reading kit wrapped with their secret (AES-256-GCM, key by
 * scrypt from the secret): only that reader can sign answers as themselves.
 */
export interface WrappedKey {
  salt: string;
  iv: string;
  tag: string;
  data: string;
}

const wrappingKey = (secret: string, salt: Buffer): Buffer =>
  scryptSync(normaliseSecret(secret).normalize('NFC'), salt, 32, SCRYPT);

export function wrapKey(secret: string, keyHex: string): WrappedKey {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey(secret, salt), iv);
  const data = Buffer.concat([cipher.update(Buffer.from(keyHex, 'hex')), cipher.final()]);
  return {
    salt: salt.toString('base64'),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

/** The key as hex, or null when the secret is wrong (the GCM tag does not verify). */
export function unwrapKey(secret: string, wrapped: WrappedKey): string | null {
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      wrappingKey(secret, Buffer.from(wrapped.salt, 'base64')),
      Buffer.from(wrapped.iv, 'base64'),
    );
    decipher.setAuthTag(Buffer.from(wrapped.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(wrapped.data, 'base64')), decipher.final()]).toString(
      'hex',
    );
  } catch {
    return null;
  }
}
