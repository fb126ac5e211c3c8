import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { AppError } from '../util/errors.ts';
import type { StoreContext } from './statements.ts';

/**
 * The study owner: a per-study passphrase (scrypt, node:crypto) that unlocks set-up, monitoring,
 * unblinded results, the audit trail, reading kits and merging. Readers never need it. A study
 * without an owner passphrase (made by the API or the CLI before roles existed) stays open.
 */

const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, maxmem: 64 * 1024 * 1024 } as const;
export const minPassphraseLength = 8;

export function hashPassphrase(passphrase: string): string {
  if (passphrase.length < minPassphraseLength)
    throw new AppError('bad_input', `the owner passphrase needs at least ${minPassphraseLength} characters`);
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
