// The viewer's main-process service: original images in their own units, analyses (restoration +
// classification) run once per image and model and kept in the results folder, restored images and
// heat maps read back from there.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DeidentifyOptions,
  type ImageAnnotation,
  isPresentationStateClass,
  isStructuredReportClass,
  type ReferencedAnnotation,
  readReportAnnotations,
  readStructuredReport,
  type ReportItem,
  type StructuredReport,
  writeMeasurementReport,
  writePresentationState,
} from '../dicom/index.ts';
import { defaultModel, findModel, listModels } from '../inference/index.ts';
import type { JobProgress } from '../jobs/types.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { Library } from '../library/index.ts';
import { AppError } from '../util/errors.ts';
import { PromiseCache } from '../util/promise-cache.ts';
import { readVerifiedFile } from '../util/verified-read.ts';
import { type AnnotationStore, openAnnotationStore } from './annotations.ts';
import { restoredToModality, type ViewerImage } from './frame.ts';
import {
  type AnalysisRecord,
  type analyseForViewer,
  HEATMAP_FILE,
  type loadViewerImage,
  RECORD_FILE,
  restoredFile,
} from './jobs.ts';

/** The job kinds the viewer runs: the runner it is given must serve them. */
export type ViewerJobs = {
  loadViewerImage: typeof loadViewerImage;
  analyseForViewer: typeof analyseForViewer;
};

export interface ViewerServiceOptions {
  dataDir: string;
  shippedDir: string;
  localDir: string;
  library: Library;
  jobs: JobRunner<ViewerJobs>;
}

export interface AnalysisSummary {
  instanceId: number;
  model: { id: string; version: string; name: string };
  provider: string;
  threshold: number;
  probabilities: { normal: number; covid: number };
  label: 'covid' | 'normal';
  passes: number;
  working: { width: number; height: number };
  createdAt: string;
  /** True when a stored analysis was returned instead of running the model again. */
  reused: boolean;
  /** The model file's SHA-256 (absent on records from before it was stored). */
  modelSha256?: string;
  /** Positive / negative / indeterminate with the band and validation figures (absent on older records). */
  certainty?: AnalysisRecord['certainty'];
  intendedUse?: AnalysisRecord['intendedUse'];
  heatmapScale?: AnalysisRecord['heatmapScale'];
}

export interface Heatmap {
  width: number;
  height: number;
  /** Row-major, 0 (no evidence) … 255 (strongest evidence for COVID-19). */
  data: Uint8Array<ArrayBuffer>;
}

/** Decoded frames kept: a few images, or a short cine loop of one multi-frame image. */
const IMAGE_CACHE_SIZE = 32;

/** What an instance is to the viewer: an image, a structured report, a presentation state, or neither. */
export type ViewerObjectKind = 'image' | 'report' | 'presentation' | 'other';

/** The open instance's study, for the series strip and next/previous. */
export interface ViewerStudy {
  instanceId: number;
  studyId: number;
  seriesId: number;
  kind: ViewerObjectKind;
  /** Why the instance cannot be shown as an image (kind other than 'image'). */
  reason: string | null;
  series: {
    id: number;
    seriesNumber: number | null;
    description: string | null;
    modality: string | null;
    instances: { id: number; instanceNumber: number | null; frames: number; kind: ViewerObjectKind }[];
  }[];
}

/** Annotations made on an image, and those that SRs and presentation states in its study place on it. */
export interface ViewerAnnotations {
  stored: ImageAnnotation[];
  fromReports: { instanceId: number; kind: 'report' | 'presentation'; annotations: ImageAnnotation[] }[];
}

/** A structured report with its content tree in document order (depth 1: the root's children). */
export type ViewerReport = Omit<StructuredReport, 'items'> & {
  items: (Omit<ReportItem, 'children'> & { depth: number })[];
};

function kindOf(instance: { decodable: boolean; header: { sopClassUid: string } }): ViewerObjectKind {
  if (instance.decodable) return 'image';
  if (isStructuredReportClass(instance.header.sopClassUid)) return 'report';
  if (isPresentationStateClass(instance.header.sopClassUid)) return 'presentation';
  return 'other';
}

/** A file name without patient data: the kind of object and the date it was made. */
const exportName = (what: string, ext: string) =>
  `${what}-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}.${ext}`;

export function createViewerService(options: ViewerServiceOptions) {
  const { library, jobs } = options;
  // Decoded originals: the few the viewer goes back and forth between.
  const images = new PromiseCache<string, ViewerImage>(IMAGE_CACHE_SIZE);
  let annotationStore: AnnotationStore | undefined;
  const annotations = () => {
    annotationStore ??= openAnnotationStore(library.dataDir);
    return annotationStore;
  };

  /** One frame (0-based) of an instance in its own units, with the overlay's attributes. */
  async function getImage(instanceId: number, frame = 0): Promise<ViewerImage> {
    // Keyed by content too: SQLite may give a deleted image's id to a later import.
    const instance = library.getDecodableInstance(instanceId);
    return images.get(`${instanceId}:${instance.sha256}:${frame}`, () => {
      return jobs.run('loadViewerImage', {
        path: instance.filePath,
        sha256: instance.sha256,
        label: `instance ${instanceId}`,
        frame,
      });
    });
  }

  async function fileOf(instanceId: number) {
    const instance = library.getInstance(instanceId);
    const bytes = await readVerifiedFile(instance.filePath, `instance ${instanceId}`, instance.sha256);
    return { instance, bytes };
  }

  /** The SRs and presentation states of a study, with the annotations each places on images. */
  async function reportsOf(studyId: number) {
    const out: {
      instanceId: number;
      kind: 'report' | 'presentation';
      annotations: ReferencedAnnotation[];
    }[] = [];
    for (const instance of library.listInstances({ studyId, limit: 10_000 })) {
      if (instance.decodable) continue;
      const kind = kindOf(library.getInstance(instance.id));
      if (kind !== 'report' && kind !== 'presentation') continue;
      try {
        const { bytes } = await fileOf(instance.id);
        out.push({ instanceId: instance.id, kind, annotations: readReportAnnotations(bytes) });
      } catch (error) {
        // A damaged or changed report does not stop the image from opening.
        if (!(error instanceof AppError)) throw error;
      }
    }
    return out;
  }

  const resultDir = (sha256: string, modelId: string) => join(options.dataDir, 'results', sha256, modelId);

  async function models() {
    const { models } = await listModels(options.shippedDir, options.localDir);
    return models;
  }

  /** The stored analysis of this instance by this model, if it is complete and still matches both. */
  async function storedRecord(instanceId: number, modelId: string, modelSha256: string) {
    const instance = library.getDecodableInstance(instanceId);
    const row = library.listResults(instanceId).find((r) => r.modelId === modelId);
    if (!row) return undefined;
    const record = row.output as AnalysisRecord;
    const dir = resultDir(instance.sha256, modelId);
    if (record.model?.sha256 !== modelSha256 || record.instanceSha256 !== instance.sha256) return undefined;
    if (!existsSync(join(dir, RECORD_FILE)) || !existsSync(join(dir, HEATMAP_FILE))) return undefined;
    return { record, dir };
  }

  function summarise(
    instanceId: number,
    record: AnalysisRecord,
    name: string,
    reused: boolean,
  ): AnalysisSummary {
    return {
      instanceId,
      model: { id: record.model.id, version: record.model.version, name },
      provider: record.provider,
      threshold: record.threshold,
      probabilities: record.probabilities,
      label: record.label,
      passes: record.passes,
      working: record.working,
      createdAt: record.createdAt,
      reused,
      ...(record.model.sha256 ? { modelSha256: record.model.sha256 } : {}),
      ...(record.certainty ? { certainty: record.certainty } : {}),
      ...(record.intendedUse ? { intendedUse: record.intendedUse } : {}),
      ...(record.heatmapScale ? { heatmapScale: record.heatmapScale } : {}),
    };
  }

  async function recordFor(instanceId: number, modelId: string) {
    const model = findModel(await models(), modelId);
    const stored = await storedRecord(instanceId, modelId, model.card.sha256);
    if (!stored)
      throw new AppError(
        'not_found',
        `instance ${instanceId} has not been analysed with model ${modelId} yet`,
      );
    return stored;
  }

  return {
    getImage,

    /** The instance's study: its series and their instances in order, and what the instance is. */
    study(instanceId: number): ViewerStudy {
      const instance = library.getInstance(instanceId);
      const kind = kindOf(instance);
      const series = library.listSeries({ studyId: instance.studyId, limit: 10_000 }).map((s) => ({
        id: s.id,
        seriesNumber: s.seriesNumber,
        description: s.description,
        modality: s.modality,
        instances: library
          .listInstances({ seriesId: s.id, limit: 10_000 })
          .toSorted((a, b) => (a.instanceNumber ?? 0) - (b.instanceNumber ?? 0) || a.id - b.id)
          .map((i) => ({
            id: i.id,
            instanceNumber: i.instanceNumber,
            frames: i.numberOfFrames,
            kind: i.decodable ? ('image' as const) : kindOf(library.getInstance(i.id)),
          })),
      }));
      return {
        instanceId,
        studyId: instance.studyId,
        seriesId: instance.seriesId,
        kind,
        reason: kind === 'image' ? null : instance.undecodableReason,
        series,
      };
    },

    /** An SR instance as a readable tree; AppError('unsupported') for anything else. */
    async report(instanceId: number): Promise<ViewerReport> {
      const { instance, bytes } = await fileOf(instanceId);
      if (!isStructuredReportClass(instance.header.sopClassUid))
        throw new AppError('unsupported', `instance ${instanceId} is not a structured report`);
      const { items, ...report } = readStructuredReport(bytes);
      const flat: ViewerReport['items'] = [];
      const walk = (list: ReportItem[], depth: number) => {
        for (const { children, ...item } of list) {
          flat.push({ depth, ...item });
          walk(children, depth + 1);
        }
      };
      walk(items, 1);
      return { ...report, items: flat };
    },

    /** The image's own annotations, and those its study's SRs and presentation states place on it. */
    async annotations(instanceId: number): Promise<ViewerAnnotations> {
      const instance = library.getInstance(instanceId);
      const sopInstanceUid = instance.header.sopInstanceUid;
      const fromReports = (await reportsOf(instance.studyId))
        .map((r) => ({
          ...r,
          annotations: r.annotations
            .filter(
              (a) => a.sopInstanceUid === sopInstanceUid && a.frame < Math.max(1, instance.numberOfFrames),
            )
            .map(({ sopInstanceUid: _uid, ...a }) => a),
        }))
        .filter((r) => r.annotations.length > 0);
      return { stored: annotations().list(instanceId), fromReports };
    },

    saveAnnotations(instanceId: number, list: readonly ImageAnnotation[]): void {
      const instance = library.getDecodableInstance(instanceId);
      for (const a of list)
        if (a.frame >= Math.max(1, instance.numberOfFrames))
          throw new AppError('bad_input', `annotation ${a.uid}: frame ${a.frame + 1} is not in the image`);
      annotations().replace(instanceId, list);
    },

    /**
     * The image's stored annotations as a TID 1500 measurement report (SR) or a presentation state
     * (GSPS) in its study, de-identified by the Annex E Basic Profile on request.
     */
    async exportAnnotations(
      instanceId: number,
      request: { format: 'sr' | 'gsps'; deidentify: boolean; window?: { center: number; width: number } },
    ): Promise<{ bytes: Uint8Array<ArrayBuffer>; fileName: string }> {
      const list = annotations().list(instanceId);
      if (list.length === 0)
        throw new AppError('bad_input', `instance ${instanceId} has no annotations to export`);
      const image = await getImage(instanceId, 0);
      const { bytes } = await fileOf(instanceId);
      const spacing = image.calibration ? image.spacing : null;
      const deidentify: DeidentifyOptions | undefined = request.deidentify
        ? { uidSalt: randomBytes(16).toString('hex') }
        : undefined;
      const written =
        request.format === 'sr'
          ? writeMeasurementReport(bytes, list, spacing, { deidentify })
          : writePresentationState(bytes, list, spacing, { deidentify, window: request.window });
      const what = request.format === 'sr' ? 'measurements-sr' : 'annotations-gsps';
      return {
        bytes: new Uint8Array(written.bytes),
        fileName: exportName(request.deidentify ? `${what}-anon` : what, 'dcm'),
      };
    },

    close(): void {
      annotationStore?.close();
      annotationStore = undefined;
    },

    /** Stored analyses of an instance whose model is still installed, newest first. */
    async listAnalyses(instanceId: number): Promise<AnalysisSummary[]> {
      const installed = await models();
      const out: AnalysisSummary[] = [];
      for (const row of library.listResults(instanceId)) {
        const model = installed.find((m) => m.card.id === row.modelId);
        if (!model) continue;
        const stored = await storedRecord(instanceId, row.modelId, model.card.sha256);
        if (stored) out.push(summarise(instanceId, stored.record, model.card.name, true));
      }
      return out;
    },

    /** Restores (all passes up to `passes`) and classifies, or returns the stored analysis. */
    async analyse(
      instanceId: number,
      request: {
        modelId?: string;
        passes: number;
        reuse: boolean;
        overrideIntendedUse?: { reason?: string };
      },
      run: { signal?: AbortSignal; onProgress?: (progress: JobProgress) => void } = {},
    ): Promise<AnalysisSummary> {
      const all = await models();
      const model = request.modelId ? findModel(all, request.modelId) : defaultModel(all);
      if (!model) throw new AppError('not_found', 'no model is installed');
      const instance = library.getDecodableInstance(instanceId);
      if (request.reuse) {
        const stored = await storedRecord(instanceId, model.card.id, model.card.sha256);
        if (stored && stored.record.passes >= request.passes)
          return summarise(instanceId, stored.record, model.card.name, true);
      }
      const record = await jobs.run(
        'analyseForViewer',
        {
          path: instance.filePath,
          sha256: instance.sha256,
          label: `instance ${instanceId}`,
          shippedDir: options.shippedDir,
          localDir: options.localDir,
          modelId: model.card.id,
          modelSha256: model.card.sha256,
          passes: request.passes,
          workingLongSide: model.card.input.workingLongSide,
          outDir: resultDir(instance.sha256, model.card.id),
          ...(request.overrideIntendedUse
            ? { overrideIntendedUse: { by: 'viewer: classify anyway', ...request.overrideIntendedUse } }
            : {}),
        },
        { signal: run.signal, onProgress: run.onProgress },
      );
      library.putResult(instanceId, model.card.id, record);
      library.setProcessingStatus(instanceId, 'classified');
      return summarise(instanceId, record, model.card.name, false);
    },

    /** A restored pass in the original's units (see restoredToModality). */
    async getRestored(instanceId: number, modelId: string, pass: number): Promise<ViewerImage> {
      const { record, dir } = await recordFor(instanceId, modelId);
      if (pass < 1 || pass > record.passes)
        throw new AppError(
          'not_found',
          `pass ${pass} was not run (the stored analysis has ${record.passes})`,
        );
      const bytes = await readFile(join(dir, restoredFile(pass)));
      const { width, height } = record.working;
      if (bytes.byteLength !== width * height * 4)
        throw new AppError(
          'integrity',
          `the stored restoration of instance ${instanceId} is damaged; analyse it again`,
        );
      const data = new Float32Array(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      );
      return restoredToModality({ width, height, data }, record.mapping, {
        ...record.original,
        pixels: new Uint8Array(),
      });
    },

    async getHeatmap(instanceId: number, modelId: string): Promise<Heatmap> {
      const { record, dir } = await recordFor(instanceId, modelId);
      const bytes = await readFile(join(dir, HEATMAP_FILE));
      const { width, height } = record.working;
      if (bytes.byteLength !== width * height)
        throw new AppError(
          'integrity',
          `the stored heat map of instance ${instanceId} is damaged; analyse it again`,
        );
      return { width, height, data: new Uint8Array(bytes) };
    },
  };
}

export type ViewerService = ReturnType<typeof createViewerService>;
