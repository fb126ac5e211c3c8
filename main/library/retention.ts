// Retention: instances imported more than N days ago are removed with everything derived from them
// (deleteFromLibrary), except protected ones (images of a reader study still open).
import { AppError } from '../util/errors.ts';
import type { Db } from './database.ts';
import {
  type DeleteSummary,
  type DerivedFiles,
  deleteFromLibrary,
  type ProtectedInstances,
} from './delete.ts';

export interface RetentionOptions {
  /** Days after import; instances imported before now − days are removed. */
  days: number;
  now?: Date;
  protectedInstances?: ProtectedInstances;
  /** Only count what would go. */
  dryRun?: boolean;
  /** Other services' files derived from the removed images, removed with them. */
  derived?: readonly DerivedFiles[];
}

export interface RetentionSummary {
  /** Instances imported before this time (ISO) were due. */
  cutoff: string;
  /** Instances due for removal (protected ones excluded). */
  due: number;
  /** Due, but kept because something protects them (an open reader study). */
  kept: number;
  dryRun: boolean;
  removed: DeleteSummary;
}

const dayMs = 24 * 60 * 60 * 1000;

export function applyRetention(db: Db, dataDir: string, options: RetentionOptions): RetentionSummary {
  if (!Number.isInteger(options.days) || options.days < 1)
    throw new AppError('bad_input', 'retention days must be a positive integer');
  const now = options.now ?? new Date();
  const cutoff = new Date(now.getTime() - options.days * dayMs).toISOString();
  const protectedInstances = options.protectedInstances ?? new Map();
  // imported_at is an ISO-8601 UTC timestamp, so text order is time order.
  const expired = db
    .prepare('SELECT id FROM instances WHERE imported_at < ? ORDER BY id')
    .pluck()
    .all(cutoff) as number[];
  const due = expired.filter((id) => !protectedInstances.has(id));
  const summary: RetentionSummary = {
    cutoff,
    due: due.length,
    kept: expired.length - due.length,
    dryRun: options.dryRun === true,
    removed: { instances: 0, series: 0, studies: 0, patients: 0, storeFiles: 0, resultFolders: 0, bytes: 0 },
  };
  if (options.dryRun || due.length === 0) return summary;
  // In batches, so a large first run does not hold the write lock for long.
  for (let i = 0; i < due.length; i += 500) {
    const stillThere = db.prepare('SELECT 1 FROM instances WHERE id = ?');
    const batch = due
      .slice(i, i + 500)
      .filter((id) => stillThere.get(id)) // deleted by hand meanwhile
      .map((id) => ({ level: 'instance' as const, id }));
    const removed = deleteFromLibrary(db, dataDir, batch, protectedInstances, options.derived);
    for (const key of Object.keys(removed) as (keyof DeleteSummary)[]) summary.removed[key] += removed[key];
  }
  return summary;
}
