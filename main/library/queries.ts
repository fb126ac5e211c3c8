import { join } from 'node:path';
import { AppError } from '../util/errors.ts';
import { type Db, foldCase } from './database.ts';

export type ProcessingStatus = 'not_processed' | 'restored' | 'classified';
export const processingStatuses: readonly ProcessingStatus[] = ['not_processed', 'restored', 'classified'];

/** Filters shared by the list calls. Text search matches patient name/ID and study description. */
export interface LibraryQuery {
  /** Words, all of which must appear (case-insensitive, any script) in patient name, patient ID or study description. */
  search?: string;
  /** Only studies with a series of this modality (e.g. 'CR', 'DX'). */
  modality?: string;
  /** Study date range, inclusive: 'YYYY-MM-DD' or 'YYYYMMDD'. Studies without a date never match a range. */
  dateFrom?: string;
  dateTo?: string;
  limit?: number;
  offset?: number;
}

export interface PatientSummary {
  id: number;
  patientId: string | null;
  patientName: string | null;
  birthDate: string | null;
  sex: string | null;
  studyCount: number;
  /** Latest study date (YYYYMMDD) or null. */
  lastStudyDate: string | null;
}

export interface StudySummary {
  id: number;
  studyInstanceUid: string;
  patient: { id: number; patientId: string | null; patientName: string | null };
  studyDate: string | null;
  studyTime: string | null;
  description: string | null;
  accessionNumber: string | null;
  modalities: string[];
  seriesCount: number;
  instanceCount: number;
}

export interface SeriesSummary {
  id: number;
  seriesInstanceUid: string;
  studyId: number;
  modality: string | null;
  seriesNumber: number | null;
  description: string | null;
  instanceCount: number;
}

export interface InstanceSummary {
  id: number;
  sopInstanceUid: string;
  seriesId: number;
  instanceNumber: number | null;
  rows: number;
  columns: number;
  numberOfFrames: number;
  photometricInterpretation: string;
  transferSyntaxName: string;
  decodable: boolean;
  /** Why the pixels cannot be decoded (e.g. unsupported codec, no Pixel Data); null when decodable. */
  undecodableReason: string | null;
  sourceFormat: 'dicom' | 'image';
  storage: 'managed' | 'reference';
  processingStatus: ProcessingStatus;
}

export interface InstanceDetail extends InstanceSummary {
  /** Absolute path of the file to read (in the managed store, or the original when referenced). */
  filePath: string;
  /** SHA-256 of the file at filePath, to check it has not changed. */
  sha256: string;
  size: number;
  /** Where the item was imported from (a file, or archive!/entry). */
  sourcePath: string;
  importedAt: string;
  studyId: number;
  patientRef: number;
  header: {
    sopInstanceUid: string;
    sopClassUid: string;
    studyInstanceUid: string;
    seriesInstanceUid: string;
    patientId: string | null;
    patientName: string | null;
    patientBirthDate: string | null;
    patientSex: string | null;
    studyDate: string | null;
    studyTime: string | null;
    studyDescription: string | null;
    accessionNumber: string | null;
    seriesNumber: number | null;
    seriesDescription: string | null;
    modality: string | null;
    instanceNumber: number | null;
    rows: number;
    columns: number;
    bitsAllocated: number;
    bitsStored: number;
    pixelRepresentation: number;
    photometricInterpretation: string;
    samplesPerPixel: number;
    numberOfFrames: number;
    transferSyntaxUid: string;
    transferSyntaxName: string;
    decodable: boolean;
  };
}

type Params = Record<string, string | number>;

function normalizeDate(value: string, field: string): string {
  const compact = value.trim().replace(/-/g, '');
  if (!/^\d{8}$/.test(compact)) throw new AppError('bad_input', `${field} must be YYYY-MM-DD or YYYYMMDD`);
  return compact;
}

function page(query: { limit?: number; offset?: number }, params: Params): string {
  const limit = query.limit ?? 1000;
  const offset = query.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100000)
    throw new AppError('bad_input', 'limit must be an integer from 1 to 100000');
  if (!Number.isInteger(offset) || offset < 0)
    throw new AppError('bad_input', 'offset must be a non-negative integer');
  params['limit'] = limit;
  params['offset'] = offset;
  return 'LIMIT @limit OFFSET @offset';
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** SQL condition on a study `s` joined with its patient `p`, and its parameters. */
function studyConditions(query: LibraryQuery, params: Params): string[] {
  const conditions: string[] = [];
  const words = (query.search ?? '').split(/\s+/).filter((w) => w.length > 0);
  words.forEach((word, i) => {
    params[`w${i}`] = `%${escapeLike(foldCase(word))}%`;
    conditions.push(
      `(fold(p.patient_name) LIKE @w${i} ESCAPE '\\' OR fold(p.patient_id) LIKE @w${i} ESCAPE '\\'` +
        ` OR fold(s.description) LIKE @w${i} ESCAPE '\\')`,
    );
  });
  if (query.modality) {
    params['modality'] = query.modality.trim().toUpperCase();
    conditions.push(
      'EXISTS (SELECT 1 FROM series m WHERE m.study_ref = s.id AND UPPER(m.modality) = @modality)',
    );
  }
  if (query.dateFrom) {
    params['dateFrom'] = normalizeDate(query.dateFrom, 'dateFrom');
    conditions.push('s.study_date >= @dateFrom');
  }
  if (query.dateTo) {
    params['dateTo'] = normalizeDate(query.dateTo, 'dateTo');
    conditions.push('s.study_date <= @dateTo');
  }
  return conditions;
}

function where(conditions: string[]): string {
  return conditions.length > 0 ? conditions.join(' AND ') : '1';
}

export function listPatients(db: Db, query: LibraryQuery = {}): PatientSummary[] {
  const params: Params = {};
  const match = where(studyConditions(query, params));
  const limit = page(query, params);
  return db
    .prepare(
      `SELECT p.id, p.patient_id AS patientId, p.patient_name AS patientName, p.birth_date AS birthDate,
         p.sex, (SELECT COUNT(*) FROM studies x WHERE x.patient_ref = p.id) AS studyCount,
         (SELECT MAX(x.study_date) FROM studies x WHERE x.patient_ref = p.id) AS lastStudyDate
       FROM patients p
       WHERE EXISTS (SELECT 1 FROM studies s WHERE s.patient_ref = p.id AND ${match})
       ORDER BY p.patient_name IS NULL, p.patient_name, p.patient_id, p.id ${limit}`,
    )
    .all(params) as PatientSummary[];
}

export function listStudies(db: Db, query: LibraryQuery & { patientRef?: number } = {}): StudySummary[] {
  const params: Params = {};
  const conditions = studyConditions(query, params);
  if (query.patientRef !== undefined) {
    params['patientRef'] = query.patientRef;
    conditions.push('s.patient_ref = @patientRef');
  }
  const limit = page(query, params);
  const rows = db
    .prepare(
      `SELECT s.id, s.study_instance_uid AS studyInstanceUid, p.id AS patientRef, p.patient_id AS patientId,
         p.patient_name AS patientName, s.study_date AS studyDate, s.study_time AS studyTime,
         s.description, s.accession_number AS accessionNumber,
         (SELECT GROUP_CONCAT(DISTINCT m.modality) FROM series m WHERE m.study_ref = s.id) AS modalities,
         (SELECT COUNT(*) FROM series m WHERE m.study_ref = s.id) AS seriesCount,
         (SELECT COUNT(*) FROM instances i JOIN series m ON i.series_ref = m.id WHERE m.study_ref = s.id)
           AS instanceCount
       FROM studies s JOIN patients p ON s.patient_ref = p.id
       WHERE ${where(conditions)}
       ORDER BY s.study_date IS NULL, s.study_date DESC, s.study_time DESC, s.id ${limit}`,
    )
    .all(params) as (Omit<StudySummary, 'patient' | 'modalities'> & {
    patientRef: number;
    patientId: string | null;
    patientName: string | null;
    modalities: string | null;
  })[];
  return rows.map(({ patientRef, patientId, patientName, modalities, ...study }) => ({
    ...study,
    patient: { id: patientRef, patientId, patientName },
    modalities: modalities ? modalities.split(',').sort() : [],
  }));
}

export function listSeries(
  db: Db,
  query: { studyId: number; modality?: string; limit?: number; offset?: number },
): SeriesSummary[] {
  const params: Params = { studyId: query.studyId };
  const conditions = ['s.study_ref = @studyId'];
  if (query.modality) {
    params['modality'] = query.modality.trim().toUpperCase();
    conditions.push('UPPER(s.modality) = @modality');
  }
  const limit = page(query, params);
  return db
    .prepare(
      `SELECT s.id, s.series_instance_uid AS seriesInstanceUid, s.study_ref AS studyId, s.modality,
         s.series_number AS seriesNumber, s.description,
         (SELECT COUNT(*) FROM instances i WHERE i.series_ref = s.id) AS instanceCount
       FROM series s WHERE ${where(conditions)}
       ORDER BY s.series_number IS NULL, s.series_number, s.id ${limit}`,
    )
    .all(params) as SeriesSummary[];
}

const instanceColumns = `i.id, i.sop_instance_uid AS sopInstanceUid, i.series_ref AS seriesId,
  i.instance_number AS instanceNumber, i.rows, i.columns, i.number_of_frames AS numberOfFrames,
  i.photometric_interpretation AS photometricInterpretation, i.transfer_syntax_name AS transferSyntaxName,
  i.decodable, i.undecodable_reason AS undecodableReason, i.source_format AS sourceFormat, i.storage, i.processing_status AS processingStatus`;

type InstanceRow = Omit<InstanceSummary, 'decodable'> & { decodable: number };

export function listInstances(
  db: Db,
  query: {
    seriesId?: number;
    studyId?: number;
    processingStatus?: ProcessingStatus;
    limit?: number;
    offset?: number;
  },
): InstanceSummary[] {
  const params: Params = {};
  const conditions: string[] = [];
  if (query.seriesId !== undefined) {
    params['seriesId'] = query.seriesId;
    conditions.push('i.series_ref = @seriesId');
  }
  if (query.studyId !== undefined) {
    params['studyId'] = query.studyId;
    conditions.push('se.study_ref = @studyId');
  }
  if (query.processingStatus !== undefined) {
    if (!processingStatuses.includes(query.processingStatus))
      throw new AppError('bad_input', `unknown processing status '${query.processingStatus}'`);
    params['status'] = query.processingStatus;
    conditions.push('i.processing_status = @status');
  }
  const limit = page(query, params);
  const rows = db
    .prepare(
      `SELECT ${instanceColumns} FROM instances i JOIN series se ON i.series_ref = se.id
       WHERE ${where(conditions)}
       ORDER BY se.id, i.instance_number IS NULL, i.instance_number, i.id ${limit}`,
    )
    .all(params) as InstanceRow[];
  return rows.map((row) => ({ ...row, decodable: row.decodable === 1 }));
}

export function getInstance(db: Db, dataDir: string, id: number): InstanceDetail {
  const row = db
    .prepare(
      `SELECT ${instanceColumns}, i.file_path AS filePath, i.sha256, i.size, i.source_path AS sourcePath,
         i.imported_at AS importedAt, i.sop_class_uid AS sopClassUid, i.bits_allocated AS bitsAllocated,
         i.bits_stored AS bitsStored, i.pixel_representation AS pixelRepresentation,
         i.samples_per_pixel AS samplesPerPixel, i.transfer_syntax_uid AS transferSyntaxUid,
         se.series_instance_uid AS seriesInstanceUid, se.modality, se.series_number AS seriesNumber,
         se.description AS seriesDescription, st.id AS studyId, st.study_instance_uid AS studyInstanceUid,
         st.study_date AS studyDate, st.study_time AS studyTime, st.description AS studyDescription,
         st.accession_number AS accessionNumber, p.id AS patientRef, p.patient_id AS patientId,
         p.patient_name AS patientName, p.birth_date AS patientBirthDate, p.sex AS patientSex
       FROM instances i JOIN series se ON i.series_ref = se.id JOIN studies st ON se.study_ref = st.id
         JOIN patients p ON st.patient_ref = p.id
       WHERE i.id = ?`,
    )
    .get(id) as (InstanceRow & Record<string, unknown>) | undefined;
  if (!row) throw new AppError('not_found', `no instance with id ${id} in the library`);
  const r = row as InstanceRow & {
    filePath: string;
    sha256: string;
    size: number;
    sourcePath: string;
    importedAt: string;
    studyId: number;
    patientRef: number;
  } & Omit<InstanceDetail['header'], 'decodable'>;
  const decodable = r.decodable === 1;
  return {
    id: r.id,
    sopInstanceUid: r.sopInstanceUid,
    seriesId: r.seriesId,
    instanceNumber: r.instanceNumber,
    rows: r.rows,
    columns: r.columns,
    numberOfFrames: r.numberOfFrames,
    photometricInterpretation: r.photometricInterpretation,
    transferSyntaxName: r.transferSyntaxName,
    decodable,
    undecodableReason: r.undecodableReason,
    sourceFormat: r.sourceFormat,
    storage: r.storage,
    processingStatus: r.processingStatus,
    filePath: r.storage === 'managed' ? join(dataDir, ...r.filePath.split('/')) : r.filePath,
    sha256: r.sha256,
    size: r.size,
    sourcePath: r.sourcePath,
    importedAt: r.importedAt,
    studyId: r.studyId,
    patientRef: r.patientRef,
    header: {
      sopInstanceUid: r.sopInstanceUid,
      sopClassUid: r.sopClassUid,
      studyInstanceUid: r.studyInstanceUid,
      seriesInstanceUid: r.seriesInstanceUid,
      patientId: r.patientId,
      patientName: r.patientName,
      patientBirthDate: r.patientBirthDate,
      patientSex: r.patientSex,
      studyDate: r.studyDate,
      studyTime: r.studyTime,
      studyDescription: r.studyDescription,
      accessionNumber: r.accessionNumber,
      seriesNumber: r.seriesNumber,
      seriesDescription: r.seriesDescription,
      modality: r.modality,
      instanceNumber: r.instanceNumber,
      rows: r.rows,
      columns: r.columns,
      bitsAllocated: r.bitsAllocated,
      bitsStored: r.bitsStored,
      pixelRepresentation: r.pixelRepresentation,
      photometricInterpretation: r.photometricInterpretation,
      samplesPerPixel: r.samplesPerPixel,
      numberOfFrames: r.numberOfFrames,
      transferSyntaxUid: r.transferSyntaxUid,
      transferSyntaxName: r.transferSyntaxName,
      decodable,
    },
  };
}

export function setProcessingStatus(db: Db, id: number, status: ProcessingStatus): void {
  if (!processingStatuses.includes(status))
    throw new AppError('bad_input', `unknown processing status '${status}'`);
  const result = db.prepare('UPDATE instances SET processing_status = ? WHERE id = ?').run(status, id);
  if (result.changes === 0) throw new AppError('not_found', `no instance with id ${id} in the library`);
}

/** A model's stored output for an instance (one per instance and model; a new run replaces it). */
export interface StoredResult {
  instanceId: number;
  modelId: string;
  output: unknown;
  createdAt: string;
}

export function putResult(db: Db, instanceId: number, modelId: string, output: unknown): void {
  db.prepare(
    `INSERT INTO results (instance_ref, model_id, output_json, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (instance_ref, model_id) DO UPDATE SET output_json = excluded.output_json, created_at = excluded.created_at`,
  ).run(instanceId, modelId, JSON.stringify(output), new Date().toISOString());
}

export function listResults(db: Db, instanceId: number): StoredResult[] {
  const rows = db
    .prepare(
      'SELECT model_id AS modelId, output_json AS outputJson, created_at AS createdAt FROM results WHERE instance_ref = ? ORDER BY created_at DESC',
    )
    .all(instanceId) as { modelId: string; outputJson: string; createdAt: string }[];
  return rows.map((r) => ({
    instanceId,
    modelId: r.modelId,
    output: JSON.parse(r.outputJson),
    createdAt: r.createdAt,
  }));
}
