import { join } from 'node:path';
import { localModelsDir } from '../app/paths.ts';
import type { Services } from '../app/services.ts';
import type { Output } from '../contract/types.ts';
import {
  auditRows,
  defaultQuestions,
  questionSchema,
  type StudyInput,
  studyComparisons,
  studyVariants,
} from '../review/index.ts';
import { AppError, serializeError } from '../util/errors.ts';
import { PromiseCache } from '../util/promise-cache.ts';
import { slug } from '../util/slug.ts';
import type { JobProgress } from '../jobs/types.ts';
import type { CallContext, HandlerTable } from './dispatch.ts';

/** Thumbnails kept in memory (a few MB at most): scrolling back through a study re-renders nothing. */
const THUMBNAIL_CACHE_SIZE = 256;
/** Review images (original and restored renders, up to ~1 MB each as data URLs). */
const REVIEW_IMAGE_CACHE_SIZE = 64;

/**
 * The one handler table. Electron's ipcMain and the browser-test harness both bind exactly this,
 * so what the e2e tests exercise is what the app runs.
 */
export function createHandlers(services: Services): HandlerTable {
  const running = new Map<string, AbortController>();

  async function asJob<T>(
    jobId: string,
    emit: CallContext['emit'],
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    running.set(jobId, controller);
    try {
      return await work(controller.signal);
    } finally {
      running.delete(jobId);
      emit({ type: 'jobEnded', jobId });
    }
  }

  const modelDirs = () => ({
    shippedDir: services.config.modelsDir,
    localDir: localModelsDir(services.config.dataDir),
  });
  // Fine-tuning and evaluation run for minutes to hours: the job runner's long lane, progress as events.
  const longJobOptions = (jobId: string, emit: CallContext['emit'], signal: AbortSignal) => ({
    signal,
    long: true,
    onProgress: (p: JobProgress) => emit({ type: 'jobProgress', jobId, ...p }),
  });

  const thumbnails = new PromiseCache<string, Output<'getThumbnail'>>(THUMBNAIL_CACHE_SIZE);

  async function renderThumbnail(instanceId: number, size: number): Promise<Output<'getThumbnail'>> {
    const instance = services.library.getDecodableInstance(instanceId);
    const label = `instance ${instanceId}`;
    const { pngBase64, width, height } = await services.jobs.run('renderThumbnail', {
      path: instance.filePath,
      size,
      sha256: instance.sha256,
      label,
    });
    return { dataUrl: `data:image/png;base64,${pngBase64}`, width, height };
  }

  const reviewImages = new PromiseCache<string, Output<'getReviewImage'>>(REVIEW_IMAGE_CACHE_SIZE);

  // The presentation is resolved here, in the main process: the renderer only ever holds its opaque id.
  async function renderReviewImage(presentationId: string, size: number): Promise<Output<'getReviewImage'>> {
    const { imageId, variant } = services.review.resolvePresentation(presentationId);
    const instance = services.library.getDecodableInstance(Number(imageId));
    const label = `instance ${imageId}`;
    if (variant.kind === 'restored' && !variant.modelId)
      throw new AppError('bad_input', `variant ${variant.id} names no model`);
    const { pngBase64, width, height } = await services.jobs.run('renderReviewImage', {
      path: instance.filePath,
      size,
      sha256: instance.sha256,
      label,
      variant:
        variant.kind === 'original'
          ? { kind: 'original' }
          : { kind: 'restored', modelId: variant.modelId!, passes: variant.passes ?? 1 },
      shippedDir: services.config.modelsDir,
      localDir: localModelsDir(services.config.dataDir),
    });
    return { dataUrl: `data:image/png;base64,${pngBase64}`, width, height };
  }

  return {
    async getAppInfo() {
      const model = await services.activeModel();
      return {
        ...services.identity,
        activeModel: model ? { id: model.id, version: model.version } : null,
        executionProvider: model?.provider ?? null,
      };
    },
    async hashFiles({ jobId, paths }, { emit }) {
      return asJob(jobId, emit, (signal) =>
        services.jobs.run(
          'hashFiles',
          { paths },
          { signal, onProgress: (p) => emit({ type: 'jobProgress', jobId, ...p }) },
        ),
      );
    },
    async importPaths({ jobId, paths, mode }, { emit }) {
      return asJob(jobId, emit, (signal) =>
        services.library.importPaths(paths, {
          mode,
          signal,
          onProgress: (p) => emit({ type: 'jobProgress', jobId, ...p }),
        }),
      );
    },
    async listStudies(query) {
      return { studies: services.library.listStudies(query) };
    },
    async listSeries({ studyId }) {
      return { series: services.library.listSeries({ studyId }) };
    },
    async listInstances({ seriesId }) {
      return { instances: services.library.listInstances({ seriesId }) };
    },
    async getThumbnail({ instanceId, size }) {
      return thumbnails.get(`${instanceId}:${size}`, () => renderThumbnail(instanceId, size));
    },
    async reviewListStudies() {
      return { studies: services.review.listStudies() };
    },
    async reviewCreateStudy(input) {
      const { name, instanceIds, passes, readers } = input;
      for (const instanceId of instanceIds) services.library.getDecodableInstance(instanceId);
      let variants: StudyInput['variants'];
      if (input.variants) {
        variants = studyVariants(input.variants, (await services.models.list()).models);
      } else {
        // The shorthand: the original beside the default model with `passes` passes.
        const modelId = await services.defaultModelId();
        if (!modelId) throw new AppError('not_found', 'no restoration model is installed');
        const n = passes ?? 1;
        variants = [
          { id: 'original', kind: 'original', label: 'Original' },
          {
            id: 'restored',
            kind: 'restored',
            modelId,
            passes: n,
            label: `Restored, ${n} pass${n === 1 ? '' : 'es'}`,
          },
        ];
      }
      const comparisons = studyComparisons(variants, input.comparisons);
      const locked = input.lockDisplay ?? true;
      return services.review.createStudy({
        name,
        images: instanceIds.map(String),
        variants,
        ...(comparisons ? { comparisons } : {}),
        ...(input.questions ? { questions: input.questions } : {}),
        ...(input.navigation ? { navigation: input.navigation } : {}),
        blinding: {
          hideMethodNames: true,
          hideAiOutput: true,
          hidePatientIdentifiers: true,
          lockWindowLevel: locked,
          lockZoom: locked,
        },
        ...(readers ? { readers } : {}),
      });
    },
    async reviewDefaultQuestions() {
      return { questions: defaultQuestions.map((q) => questionSchema.parse(q)) };
    },
    async reviewGetStudy({ studyId }) {
      return services.review.getStudy(studyId);
    },
    async reviewAddReader({ studyId, name }) {
      return services.review.addReader(studyId, { name });
    },
    async reviewStartSession({ studyId, readerId }) {
      return services.review.startOrResumeSession(studyId, readerId);
    },
    async reviewAnswer(input) {
      return services.review.answer(input);
    },
    async reviewNext({ studyId, readerId }) {
      return services.review.next(studyId, readerId);
    },
    async reviewGoBack(input) {
      return services.review.goBack(input);
    },
    async reviewResults({ studyId }) {
      return services.review.results(studyId);
    },
    async reviewExportCsv({ studyId }) {
      const study = services.review.getStudy(studyId);
      const safe = slug(study.name, { keepCase: true, maxLength: 80 }) || 'study';
      return { csv: services.review.exportCsv(studyId), fileName: `${safe}-ratings.csv` };
    },
    async reviewExportJson({ studyId }) {
      const study = services.review.getStudy(studyId);
      const safe = slug(study.name, { keepCase: true, maxLength: 80 }) || 'study';
      const json = `${JSON.stringify(services.review.exportJson(studyId), null, 2)}\n`;
      return { json, fileName: `${safe}-study.json` };
    },
    async reviewAuditTrail({ studyId }) {
      const { config } = services.review.getStudy(studyId);
      return { entries: auditRows(services.review.auditTrail(studyId), config) };
    },
    async getReviewImage({ presentationId, size }) {
      return reviewImages.get(`${presentationId}:${size}`, () => renderReviewImage(presentationId, size));
    },
    async modelCatalog() {
      return services.models.list();
    },
    async evaluateModel({ jobId, ...request }, { emit }) {
      return asJob(jobId, emit, (signal) =>
        services.jobs.run(
          'evaluateInstalledModel',
          { ...request, ...modelDirs(), evaluationsDir: join(services.config.dataDir, 'evaluations') },
          longJobOptions(jobId, emit, signal),
        ),
      );
    },
    async verifyModel({ modelId }) {
      return services.models.verify(modelId);
    },
    async fineTuneModel({ jobId, ...request }, { emit }) {
      return asJob(jobId, emit, (signal) =>
        services.jobs.run(
          'fineTuneModel',
          { ...request, ...modelDirs(), runsDir: join(services.config.dataDir, 'training-runs') },
          longJobOptions(jobId, emit, signal),
        ),
      );
    },
    async getViewerImage({ instanceId }) {
      return services.viewer.getImage(instanceId);
    },
    async listAnalyses({ instanceId }) {
      return { analyses: await services.viewer.listAnalyses(instanceId) };
    },
    async analyseImages({ jobId, instanceIds, modelId, passes, reuse }, { emit }) {
      return asJob(jobId, emit, async (signal) => {
        const items: Output<'analyseImages'>['items'] = [];
        const total = instanceIds.length;
        for (const [index, instanceId] of instanceIds.entries()) {
          if (signal.aborted) break;
          emit({ type: 'jobProgress', jobId, done: index, total, message: `image ${index + 1} of ${total}` });
          try {
            const analysis = await services.viewer.analyse(
              instanceId,
              { ...(modelId ? { modelId } : {}), passes, reuse },
              {
                signal,
                // One image: its own steps are the progress; several: whole images are.
                onProgress: (p) => {
                  if (total === 1) emit({ type: 'jobProgress', jobId, ...p });
                },
              },
            );
            items.push({ instanceId, ok: true, analysis });
          } catch (error) {
            if (signal.aborted) break;
            const { code, message } = serializeError(error);
            items.push({ instanceId, ok: false, error: { code, message } });
          }
        }
        if (!signal.aborted) emit({ type: 'jobProgress', jobId, done: total, total });
        return { items, cancelled: signal.aborted };
      });
    },
    async getRestoredImage({ instanceId, modelId, pass }) {
      return services.viewer.getRestored(instanceId, modelId, pass);
    },
    async getHeatmap({ instanceId, modelId }) {
      return services.viewer.getHeatmap(instanceId, modelId);
    },
    async cancelJob({ jobId }) {
      const controller = running.get(jobId);
      controller?.abort();
      return { cancelled: controller !== undefined };
    },
  };
}
