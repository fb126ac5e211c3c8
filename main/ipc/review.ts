// Reader-study channels: thin calls into the review store and its set-up plan, and the blinded image
// job (the presentation is resolved here, in the main process: the renderer only holds its opaque id).
import { localModelsDir } from '../app/paths.ts';
import type { Services } from '../app/services.ts';
import type { reviewChannels } from '../contract/review.ts';
import type { Output } from '../contract/types.ts';
import {
  auditRows,
  defaultQuestions,
  exportFileName,
  planStudy,
  presentationImage,
  questionSchema,
} from '../review/index.ts';
import { PromiseCache } from '../util/promise-cache.ts';
import type { DomainHandlers } from './jobs.ts';
import { pngDataUrl } from './library.ts';

/** Review images (original and restored renders, up to ~1 MB each as data URLs). */
const REVIEW_IMAGE_CACHE_SIZE = 64;

export function reviewHandlers(services: Services): DomainHandlers<typeof reviewChannels> {
  const { review, library } = services;
  const reviewImages = new PromiseCache<string, Output<'getReviewImage'>>(REVIEW_IMAGE_CACHE_SIZE);

  async function renderReviewImage(presentationId: string, size: number): Promise<Output<'getReviewImage'>> {
    const { imageId, variant } = presentationImage(review.resolvePresentation(presentationId));
    const rendered = await services.jobs.run('renderReviewImage', {
      ...library.imageSource(Number(imageId)),
      size,
      variant,
      shippedDir: services.config.modelsDir,
      localDir: localModelsDir(services.config.dataDir),
    });
    return pngDataUrl(rendered);
  }

  return {
    async reviewListStudies() {
      return { studies: review.listStudies() };
    },
    async reviewCreateStudy(request) {
      const input = await planStudy(request, {
        checkImage: (instanceId) => library.getDecodableInstance(instanceId),
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
    async reviewAddReader({ studyId, name }) {
      return review.addReader(studyId, { name });
    },
    async reviewStartSession({ studyId, readerId }) {
      return review.startOrResumeSession(studyId, readerId);
    },
    async reviewAnswer(input) {
      return review.answer(input);
    },
    async reviewNext({ studyId, readerId }) {
      return review.next(studyId, readerId);
    },
    async reviewGoBack(input) {
      return review.goBack(input);
    },
    async reviewResults({ studyId }) {
      return review.results(studyId);
    },
    async reviewExportCsv({ studyId }) {
      const { name } = review.getStudy(studyId);
      return { csv: review.exportCsv(studyId), fileName: exportFileName(name, 'ratings.csv') };
    },
    async reviewExportJson({ studyId }) {
      const { name } = review.getStudy(studyId);
      const json = `${JSON.stringify(review.exportJson(studyId), null, 2)}\n`;
      return { json, fileName: exportFileName(name, 'study.json') };
    },
    async reviewAuditTrail({ studyId }) {
      const { config } = review.getStudy(studyId);
      return { entries: auditRows(review.auditTrail(studyId), config) };
    },
    async getReviewImage({ presentationId, size }) {
      return reviewImages.get(`${presentationId}:${size}`, () => renderReviewImage(presentationId, size));
    },
  };
}
