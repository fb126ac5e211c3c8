// Reader-study channels: thin calls into the review store and its set-up plan, and the blinded image
// job (the presentation is resolved here, in the main process: the renderer only holds its opaque id).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { localModelsDir } from '../app/paths.ts';
import { renderKitImage } from '../app/review-pixels.ts';
import type { Services } from '../app/services.ts';
import type { reviewChannels } from '../contract/review.ts';
import {
  auditRows,
  ByteLimitedCache,
  decodeKitImage,
  describeCandidate,
  defaultQuestions,
  studyReportHtml,
  studyReportPdf,
  libraryKitSource,
  truthFromSource,
  exportFileName,
  kitPixelsSchema,
  pixelBytes,
  planStudy,
  presentationImage,
  questionSchema,
  type ReviewPixels,
} from '../review/index.ts';
import { AppError } from '../util/errors.ts';
import type { DomainHandlers, JobCalls } from './jobs.ts';

/** Full-resolution review pixels kept (bytes: a 3000 x 3000 16-bit image is 18 MB). */
const REVIEW_PIXELS_CACHE_BYTES = 384 * 1024 * 1024;

/** A kit image's sidecar (format version 2), checked. */
function kitSidecar(text: string) {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = kitPixelsSchema.safeParse(raw);
  if (!parsed.success) throw new AppError('integrity', 'a kit image description is damaged');
  return parsed.data;
}

export function reviewHandlers(services: Services, jobs: JobCalls): DomainHandlers<typeof reviewChannels> {
  const { review, library } = services;
  const kitImages = {
    library,
    jobs: services.jobs,
    shippedDir: services.config.modelsDir,
    localDir: localModelsDir(services.config.dataDir),
  };
  const reviewPixels = new ByteLimitedCache<string, ReviewPixels>(REVIEW_PIXELS_CACHE_BYTES, pixelBytes);

  /** A presentation's full-resolution pixels: from the kit's 16-bit PNG, else computed from the library file. */
  async function loadPixels(presentationId: string): Promise<ReviewPixels> {
    const kitImage = review.kitImageOf(presentationId);
    if (kitImage) {
      const sidecarPath = kitImage.replace(/\.png$/, '.json');
      const sidecar = existsSync(sidecarPath) ? kitSidecar(await readFile(sidecarPath, 'utf8')) : null;
      return decodeKitImage(await readFile(kitImage), sidecar);
    }
    const { imageId, variant } = presentationImage(review.resolvePresentation(presentationId));
    const { path, sha256, label } = library.imageSource(Number(imageId));
    const loaded = await services.jobs.run('loadReviewPixels', {
      path,
      sha256,
      label,
      variant,
      shippedDir: services.config.modelsDir,
      localDir: localModelsDir(services.config.dataDir),
    });
    return loaded.pixels;
  }

  return {
    async reviewListStudies() {
      return { studies: review.listStudies() };
    },
    async reviewCreateStudy(request) {
      const input = await planStudy(request, {
        checkImage: (instanceId) => library.getDecodableInstance(instanceId),
        libraryTruth: (instanceId) => truthFromSource(library.getInstance(instanceId).sourcePath),
        installedModels: async () => (await services.models.list()).models,
        defaultModelId: () => services.defaultModelId(),
      });
      return review.createStudy(input);
    },
    async reviewDefaultQuestions() {
      return { questions: defaultQuestions.map((q) => questionSchema.parse(q)) };
    },
    async reviewGetStudy({ studyId }) {
      return review.getStudy(studyId);
    },
    async reviewAddReader({ studyId, name, ownerPassphrase, secret }) {
      return review.addReader(studyId, { name, ...(secret ? { secret } : {}) }, { ownerPassphrase });
    },
    async reviewSetReaderSecret({ studyId, readerId, ownerPassphrase, secret }) {
      return review.setReaderSecret(studyId, readerId, { ownerPassphrase }, secret);
    },
    async reviewSignInReader({ studyId, readerId, readerSecret }) {
      return review.signInReader(studyId, readerId, readerSecret);
    },
    async reviewStartSession({ studyId, readerId, readerToken }) {
      return review.startOrResumeSession(studyId, readerId, { readerToken });
    },
    async reviewAnswer({ readerToken, ...input }) {
      return review.answer(input, { readerToken });
    },
    async reviewNext({ studyId, readerId, readerToken }) {
      return review.next(studyId, readerId, { readerToken });
    },
    async reviewGoBack({ readerToken, ...input }) {
      return review.goBack(input, { readerToken });
    },
    async reviewResults({ studyId, ownerPassphrase }) {
      return review.results(studyId, { ownerPassphrase });
    },
    async reviewExportCsv({ studyId, ownerPassphrase }) {
      const { name } = review.getStudy(studyId);
      return {
        csv: review.exportCsv(studyId, { ownerPassphrase }),
        fileName: exportFileName(name, 'ratings.csv'),
      };
    },
    async reviewExportJson({ studyId, ownerPassphrase }) {
      const { name } = review.getStudy(studyId);
      const json = `${JSON.stringify(review.exportJson(studyId, { ownerPassphrase }), null, 2)}\n`;
      return { json, fileName: exportFileName(name, 'study.json') };
    },
    async reviewAuditTrail({ studyId, ownerPassphrase }) {
      const { config } = review.getStudy(studyId);
      return { entries: auditRows(review.auditTrail(studyId, { ownerPassphrase }), config) };
    },
    async reviewVerifyOwner({ studyId, ownerPassphrase }) {
      review.verifyOwner(studyId, { ownerPassphrase });
      return { ok: true as const };
    },
    async reviewCloseStudy({ studyId, ownerPassphrase }) {
      return review.closeStudy(studyId, { ownerPassphrase });
    },
    async reviewCandidates() {
      const images = [];
      for (const study of library.listStudies({ limit: 100000 }))
        for (const series of library.listSeries({ studyId: study.id }))
          for (const instance of library.listInstances({ seriesId: series.id })) {
            if (!instance.decodable) continue;
            const detail = library.getInstance(instance.id);
            images.push(
              describeCandidate({
                instanceId: instance.id,
                rows: instance.rows,
                columns: instance.columns,
                modality: detail.header.modality,
                studyDate: detail.header.studyDate,
                description: detail.header.studyDescription ?? detail.header.seriesDescription,
                sourcePath: detail.sourcePath,
                sourceFormat: detail.sourceFormat,
                filePath: detail.filePath,
              }),
            );
          }
      return { images: images.sort((a, b) => a.instanceId - b.instanceId) };
    },
    async reviewReport({ studyId, ownerPassphrase }) {
      const details = review.getStudy(studyId);
      const html = studyReportHtml(details, review.results(studyId, { ownerPassphrase }));
      return { html, fileName: exportFileName(details.name, 'report.html') };
    },
    async reviewReportPdf({ studyId, ownerPassphrase }) {
      const details = review.getStudy(studyId);
      const results = review.results(studyId, { ownerPassphrase });
      const pdf = await studyReportPdf(details, results, { models: (await services.models.list()).models });
      return { pdfBase64: pdf.toString('base64'), fileName: exportFileName(details.name, 'report.pdf') };
    },
    async reviewExportKit(
      { jobId, studyId, ownerPassphrase, out, readerIds, sign, includeBurnedIn },
      { emit },
    ) {
      return jobs.run(jobId, emit, async (signal, onProgress) => {
        const summary = await review.exportKit(studyId, { ownerPassphrase }, out, {
          readerIds,
          sign,
          signal,
          includeBurnedIn,
          describeImage: (imageId) => libraryKitSource(library, imageId),
          renderImage: (imageId, variant) =>
            renderKitImage(
              kitImages,
              imageId,
              presentationImage({ studyId, imageId, variant }).variant,
              signal,
            ),
          onProgress: (done, total) => onProgress({ done, total, message: `image ${done} of ${total}` }),
        });
        return { ...summary, file: out };
      });
    },
    async reviewImportKit({ file }) {
      return review.importKit(file);
    },
    async reviewExportAnswers({ studyId, readerId, readerSecret }) {
      const { name } = review.getStudy(studyId);
      const reader = review.getStudy(studyId).readerProgress.find((r) => r.id === readerId)?.name ?? readerId;
      const { text, cases } = review.exportAnswers(studyId, readerId, { readerSecret });
      return { json: text, cases, fileName: exportFileName(`${name}-${reader}`, 'answers.json') };
    },
    async reviewMergeAnswers({ studyId, ownerPassphrase, text }) {
      return review.mergeAnswers(studyId, { ownerPassphrase }, text);
    },
    async getReviewPixels({ presentationId }) {
      return reviewPixels.get(presentationId, () => loadPixels(presentationId));
    },
  };
}
