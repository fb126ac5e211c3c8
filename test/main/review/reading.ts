// A reader reads a whole study through the store's session calls (tests of results and reports).
import type { ReviewStore, SessionView } from '../../../main/review/index.ts';

/**
 * A reader reads every case: quality `scores[kind]` for each side, prefers the `prefer` variant,
 * answers 'yes' to findings for the original and `restoredFindings` for the restored image.
 */
export function readAll(
  store: ReviewStore,
  studyId: string,
  readerId: string,
  choose: { original: number; restored: number; prefer: 'original' | 'restored'; restoredFindings: string },
): SessionView {
  let view = store.startOrResumeSession(studyId, readerId);
  while (view.case) {
    const c = view.case;
    const ref = { studyId, readerId, caseId: c.caseId };
    const kindOf = (presentationId: string) => store.resolvePresentation(presentationId).variant.kind;
    for (const image of c.images) {
      const kind = kindOf(image.presentationId);
      store.answer({
        ...ref,
        questionId: 'quality',
        presentationId: image.presentationId,
        value: choose[kind],
      });
      store.answer({
        ...ref,
        questionId: 'findings',
        presentationId: image.presentationId,
        value: kind === 'original' ? 'yes' : choose.restoredFindings,
      });
    }
    const preferred = c.images.find((i) => kindOf(i.presentationId) === choose.prefer)!;
    store.answer({ ...ref, questionId: 'preference', value: preferred.presentationId });
    view = store.next(studyId, readerId);
  }
  return view;
}
