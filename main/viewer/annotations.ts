// The viewer's measurements and annotations, per image, in the library database's viewer_annotations
// table (library/database.ts migration 2). The viewer keeps its own connection to that file: the
// library opens (and migrates) it first, and WAL lets both connections work side by side.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AnnotationTool, ImageAnnotation } from '../dicom/index.ts';
import { AppError } from '../util/errors.ts';

/** The library's database file in its data folder (library/paths.ts libraryLayout). */
const LIBRARY_DATABASE = 'library.sqlite';
const TOOLS: readonly AnnotationTool[] = ['Length', 'Angle', 'Probe'];

interface Row {
  uid: string;
  frame: number;
  tool: string;
  data_json: string;
}

export interface AnnotationStore {
  /** The instance's annotations, frame by frame in the order they were made. */
  list(instanceId: number): ImageAnnotation[];
  /** Replaces all of an instance's annotations in one transaction. */
  replace(instanceId: number, annotations: readonly ImageAnnotation[]): void;
  close(): void;
}

export function openAnnotationStore(dataDir: string): AnnotationStore {
  const db = new Database(join(dataDir, LIBRARY_DATABASE), { fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  db.pragma('foreign_keys = ON');
  const hasTable = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'viewer_annotations'")
    .get();
  if (!hasTable) {
    db.close();
    throw new AppError('internal', 'the library database has no viewer_annotations table (not migrated)');
  }
  const select = db.prepare<[number], Row>(
    'SELECT uid, frame, tool, data_json FROM viewer_annotations WHERE instance_ref = ? ORDER BY frame, created_at, rowid',
  );
  const createdAt = db.prepare<[string], { created_at: string }>(
    'SELECT created_at FROM viewer_annotations WHERE uid = ?',
  );
  const remove = db.prepare<[number]>('DELETE FROM viewer_annotations WHERE instance_ref = ?');
  const insert = db.prepare(
    `INSERT INTO viewer_annotations (uid, instance_ref, frame, tool, data_json, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const replace = db.transaction((instanceId: number, annotations: readonly ImageAnnotation[]) => {
    const now = new Date().toISOString();
    // Creation times survive an edit, so the order of measurements stays the order they were made.
    const kept = new Map(annotations.map((a) => [a.uid, createdAt.get(a.uid)?.created_at ?? now]));
    remove.run(instanceId);
    for (const a of annotations) {
      const data = JSON.stringify({ points: a.points, ...(a.label ? { label: a.label } : {}) });
      insert.run(a.uid, instanceId, a.frame, a.tool, data, kept.get(a.uid), now);
    }
  });
  return {
    list(instanceId) {
      return select.all(instanceId).flatMap((row) => {
        // A row this version does not know (a newer tool) is skipped, not shown wrongly.
        if (!TOOLS.includes(row.tool as AnnotationTool)) return [];
        const data = JSON.parse(row.data_json) as { points: [number, number][]; label?: string };
        return [
          {
            uid: row.uid,
            frame: row.frame,
            tool: row.tool as AnnotationTool,
            points: data.points,
            ...(data.label ? { label: data.label } : {}),
          },
        ];
      });
    },
    replace(instanceId, annotations) {
      const uids = new Set<string>();
      for (const a of annotations) {
        if (uids.has(a.uid)) throw new AppError('bad_input', `annotation ${a.uid} is listed twice`);
        uids.add(a.uid);
      }
      try {
        replace(instanceId, annotations);
      } catch (error) {
        if (error instanceof Error && /FOREIGN KEY|UNIQUE/.test(error.message))
          throw new AppError(
            'bad_input',
            /UNIQUE/.test(error.message)
              ? 'an annotation id is already used on another image'
              : `instance ${instanceId} is not in the library`,
          );
        throw error;
      }
    },
    close: () => db.close(),
  };
}
