// The reading view's display: the two images of a case in two Cornerstone stack viewports at full
// resolution (the viewer's loader, tools and presets), with true window/level on the original-unit
// values. Locked (the study's rule), the camera and VOI synchronisers keep zoom/pan and W/L of both
// together; unlocked, each image is adjusted on its own. Only opaque presentation ids are handled.
import { Enums, getRenderingEngine, RenderingEngine, type Types } from '@cornerstonejs/core';
import { SynchronizerManager, synchronizers } from '@cornerstonejs/tools';
import {
  createToolGroup,
  forgetImage,
  imageIdOf,
  initCornerstone,
  initialInvert,
  loadedImage,
} from '../viewer/cornerstone.ts';
import { presetsFor, toRange, toWindow } from '../viewer/presets.ts';

const ENGINE_ID = 'r2c-review';
const TOOL_GROUP_ID = 'r2c-review-tools';
const CAMERA_SYNC_ID = 'r2c-review-camera';
const VOI_SYNC_ID = 'r2c-review-voi';
export const SIDES = ['review-left', 'review-right'] as const;
export type Side = 0 | 1;

export interface Lock {
  zoom: boolean;
  windowLevel: boolean;
}

const engine = () => getRenderingEngine(ENGINE_ID);
const viewportOf = (side: Side) => engine()?.getViewport(SIDES[side]) as Types.IStackViewport | undefined;

/** Writes a viewport's window and zoom onto its element (the page's readout and the browser tests read them). */
function publish(side: Side): void {
  const viewport = viewportOf(side);
  if (!viewport?.getCurrentImageId()) return;
  const { voiRange } = viewport.getProperties();
  const element = viewport.element;
  if (voiRange) {
    const { center, width } = toWindow(voiRange);
    element.dataset.voi = `${center.toFixed(2)},${width.toFixed(2)}`;
  }
  element.dataset.zoom = viewport.getZoom().toFixed(4);
  const pan = viewport.getPan();
  element.dataset.pan = `${pan[0].toFixed(2)},${pan[1].toFixed(2)}`;
}

/**
 * Creates the engine on the two elements; `onChange` hears of every W/L or camera change (side, so
 * the page can show a readout). Returns the teardown.
 */
export function mountReviewDisplay(
  elements: [HTMLDivElement, HTMLDivElement],
  onReady: () => void,
  onChange: (side: Side) => void,
): () => void {
  let disposed = false;
  const resize = new ResizeObserver(() => {
    requestAnimationFrame(() => engine()?.resize(true, true));
  });
  const listeners = elements.map((element, index) => {
    const side = index as Side;
    const listener = () => {
      publish(side);
      onChange(side);
    };
    return { element, listener };
  });
  (async () => {
    await initCornerstone();
    if (disposed) return;
    const renderingEngine = new RenderingEngine(ENGINE_ID);
    for (const [index, element] of elements.entries())
      renderingEngine.enableElement({
        viewportId: SIDES[index]!,
        type: Enums.ViewportType.STACK,
        element,
        defaultOptions: { background: [0, 0, 0] },
      });
    const group = createToolGroup(TOOL_GROUP_ID);
    for (const id of SIDES) group.addViewport(id, ENGINE_ID);
    synchronizers.createCameraPositionSynchronizer(CAMERA_SYNC_ID);
    synchronizers.createVOISynchronizer(VOI_SYNC_ID, { syncInvertState: true, syncColormap: false });
    for (const { element, listener } of listeners) {
      resize.observe(element);
      element.addEventListener(Enums.Events.VOI_MODIFIED, listener);
      element.addEventListener(Enums.Events.CAMERA_MODIFIED, listener);
    }
    onReady();
  })();
  return () => {
    disposed = true;
    resize.disconnect();
    for (const { element, listener } of listeners) {
      element.removeEventListener(Enums.Events.VOI_MODIFIED, listener);
      element.removeEventListener(Enums.Events.CAMERA_MODIFIED, listener);
    }
    SynchronizerManager.destroySynchronizer(CAMERA_SYNC_ID);
    SynchronizerManager.destroySynchronizer(VOI_SYNC_ID);
    engine()?.destroy();
    for (const id of shownIds) forgetImage(id);
    shownIds = [];
  };
}

/** Puts both viewports in (or out of) the camera and VOI synchronisers, as the study's lock says. */
function applyLock(lock: Lock): void {
  for (const [id, on] of [
    [CAMERA_SYNC_ID, lock.zoom],
    [VOI_SYNC_ID, lock.windowLevel],
  ] as const) {
    const sync = SynchronizerManager.getSynchronizer(id);
    if (!sync) continue;
    for (const viewportId of SIDES) {
      const target = { renderingEngineId: ENGINE_ID, viewportId };
      const has = sync.getSourceViewports().some((v) => v.viewportId === viewportId);
      if (on && !has) sync.add(target);
      if (!on && has) sync.remove(target);
    }
  }
}

/** The image ids on show (forgotten when the next case comes). */
let shownIds: string[] = [];

/**
 * Shows a case: each presentation in its viewport at full resolution, fitted, with the study's
 * default window. Resolves true once both are on screen, false when `stale()` (another case came).
 */
export async function showCase(
  presentationIds: [string, string],
  lock: Lock,
  stale: () => boolean,
): Promise<boolean> {
  applyLock({ zoom: false, windowLevel: false });
  const previous = shownIds;
  shownIds = presentationIds.map((presentationId) => imageIdOf({ kind: 'review', presentationId }));
  const shown = await Promise.all(
    presentationIds.map(async (presentationId, index) => {
      const viewport = viewportOf(index as Side);
      if (!viewport) return false;
      const imageId = imageIdOf({ kind: 'review', presentationId });
      await viewport.setStack([imageId], 0);
      return true;
    }),
  );
  // The previous case's images go once replaced (bounded memory); one shown again is loaded again.
  for (const id of previous) if (!shownIds.includes(id)) forgetImage(id);
  if (stale() || !shown.every(Boolean)) return false;
  reset();
  applyLock(lock);
  return true;
}

/** Both images back to the start: fitted, the study's default window, the initial invert. */
export function reset(): void {
  for (const side of [0, 1] as const) {
    const viewport = viewportOf(side);
    const imageId = viewport?.getCurrentImageId();
    const image = imageId ? loadedImage(imageId) : undefined;
    if (!viewport || !image) continue;
    viewport.resetCamera();
    viewport.resetProperties();
    viewport.setProperties({ invert: initialInvert(image), voiRange: toRange(image.windows[0]!) });
    viewport.render();
    publish(side);
  }
}

/** The window presets of the image on `side` (the study default, then lung/mediastinum/bone relative to it). */
export function presetsOf(side: Side) {
  const imageId = viewportOf(side)?.getCurrentImageId();
  const image = imageId ? loadedImage(imageId) : undefined;
  return image ? presetsFor(image) : [];
}

/** Sets a window on `side` (the VOI synchroniser carries it to the other image when locked). */
export function setWindow(side: Side, window: { center: number; width: number }): void {
  const viewport = viewportOf(side);
  if (!viewport?.getCurrentImageId()) return;
  viewport.setProperties({ voiRange: toRange(window) });
  viewport.render();
  publish(side);
}

/** Zooms `side` by `factor` about its centre (the camera synchroniser carries it when locked). */
export function zoomBy(side: Side, factor: number): void {
  const viewport = viewportOf(side);
  if (!viewport?.getCurrentImageId()) return;
  viewport.setZoom(Math.min(20, Math.max(0.5, viewport.getZoom() * factor)));
  viewport.render();
  publish(side);
}
