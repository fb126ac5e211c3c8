// The viewer's Cornerstone state, which outlives any one component (as OHIF's viewport and
// synchroniser services): the rendering engine with its two stack viewports (the original and a
// restored pass), the tool group, and the camera and VOI synchronisers that keep them together. The
// Viewer page mounts it on its two elements and keeps only UI state; the toolbar and the keyboard
// shortcuts act on the viewports through the functions here.
import { Enums, getRenderingEngine, RenderingEngine, type Types } from '@cornerstonejs/core';
import { SynchronizerManager, synchronizers, utilities as toolUtilities } from '@cornerstonejs/tools';
import {
  createToolGroup,
  imageIdOf,
  initCornerstone,
  initialInvert,
  loadedImage,
  setPrimaryTool,
  setWheelScrolls,
  type ToolId,
  type ViewerImage,
} from './cornerstone.ts';
import { type Preset, toRange, toWindow } from './presets.ts';

const ENGINE_ID = 'r2c-viewer';
const TOOL_GROUP_ID = 'r2c-viewer-tools';
const CAMERA_SYNC_ID = 'r2c-viewer-camera';
const VOI_SYNC_ID = 'r2c-viewer-voi';
const ORIGINAL = 'original';
const RESTORED = 'restored';

/** The two viewports (their ids in the engine). */
export type ViewportName = typeof ORIGINAL | typeof RESTORED;

export interface Voi {
  center: number;
  width: number;
}

/** A pixel value under the pointer, in the image's own units. */
export interface Probe {
  x: number;
  y: number;
  value: string;
  which: ViewportName;
}

const engine = () => getRenderingEngine(ENGINE_ID);
const viewportOf = (id: ViewportName) => engine()?.getViewport(id) as Types.IStackViewport | undefined;

/**
 * Creates the engine on the two viewport elements (after Cornerstone's one-time set-up) and calls
 * `onReady` once it can show images; until teardown the W/L and zoom of the original are reported
 * through `onVoi` and `onZoom`. The returned function tears it all down.
 */
/** How the original is shown, for the overlay: zoom, rotation and flips, and the frame on show. */
export interface ViewState {
  /** Screen pixels per image pixel (1 = 1:1); device pixels, so 1:1 is one image pixel per screen pixel. */
  scale: number;
  /** Millimetres (or image pixels when uncalibrated) per CSS pixel across the screen. */
  worldPerCssPixel: number;
  rotation: number;
  flipHorizontal: boolean;
  flipVertical: boolean;
  frame: number;
}

let originalElement: HTMLDivElement | null = null;

export function mountViewer(
  elements: { original: HTMLDivElement; restored: HTMLDivElement },
  on: {
    ready: () => void;
    voi: (voi: Voi) => void;
    zoom: (zoom: number) => void;
    view?: (view: ViewState) => void;
  },
): () => void {
  originalElement = elements.original;
  let disposed = false;
  // Cornerstone skips a resize while a render frame is pending, so it is asked again a moment later
  // (a resize with nothing to change is a no-op).
  const resize = new ResizeObserver(() => {
    requestAnimationFrame(() => engine()?.resize(true, true));
    setTimeout(() => engine()?.resize(true, true), 150);
  });
  // The W/L and zoom readouts follow the original viewport.
  const onVoi = (event: Event) => {
    const range = (event as CustomEvent<{ range: { lower: number; upper: number } }>).detail.range;
    on.voi(toWindow(range));
  };
  const onCamera = () => {
    on.zoom(viewportOf(ORIGINAL)?.getZoom() ?? 1);
    const view = viewState();
    if (view) on.view?.(view);
  };
  let listening = false;
  (async () => {
    await initCornerstone();
    if (disposed) return;
    const renderingEngine = new RenderingEngine(ENGINE_ID);
    for (const [viewportId, element] of [
      [ORIGINAL, elements.original],
      [RESTORED, elements.restored],
    ] as const) {
      renderingEngine.enableElement({
        viewportId,
        type: Enums.ViewportType.STACK,
        element,
        defaultOptions: { background: [0, 0, 0] },
      });
    }
    const group = createToolGroup(TOOL_GROUP_ID);
    group.addViewport(ORIGINAL, ENGINE_ID);
    group.addViewport(RESTORED, ENGINE_ID);
    const camera = synchronizers.createCameraPositionSynchronizer(CAMERA_SYNC_ID);
    const levels = synchronizers.createVOISynchronizer(VOI_SYNC_ID, {
      syncInvertState: true,
      syncColormap: false,
    });
    // The restored viewport joins once it shows an image (a camera synced into an empty viewport breaks).
    for (const sync of [camera, levels]) sync.add({ renderingEngineId: ENGINE_ID, viewportId: ORIGINAL });
    // Each viewport element, not the stage: layouts change the panes' sizes inside a same-size stage.
    resize.observe(elements.original);
    resize.observe(elements.restored);
    elements.original.addEventListener(Enums.Events.VOI_MODIFIED, onVoi);
    elements.original.addEventListener(Enums.Events.CAMERA_MODIFIED, onCamera);
    elements.original.addEventListener(Enums.Events.STACK_NEW_IMAGE, onCamera);
    listening = true;
    on.ready();
  })();
  return () => {
    disposed = true;
    resize.disconnect();
    if (listening) {
      elements.original.removeEventListener(Enums.Events.VOI_MODIFIED, onVoi);
      elements.original.removeEventListener(Enums.Events.CAMERA_MODIFIED, onCamera);
      elements.original.removeEventListener(Enums.Events.STACK_NEW_IMAGE, onCamera);
    }
    stopCine();
    originalElement = null;
    SynchronizerManager.destroySynchronizer(CAMERA_SYNC_ID);
    SynchronizerManager.destroySynchronizer(VOI_SYNC_ID);
    engine()?.destroy();
  };
}

/** The mouse tool on both viewports. */
export function setTool(tool: ToolId): void {
  setPrimaryTool(TOOL_GROUP_ID, tool);
}

/**
 * Shows an instance's original, with its initial invert. Resolves with the image and zoom once shown,
 * or null when `stale()` says another image was asked for meanwhile (nothing is changed then).
 */
export async function showOriginal(
  instanceId: number,
  stale: () => boolean,
  frames = 1,
): Promise<{ image: ViewerImage | null; zoom: number } | null> {
  const viewport = viewportOf(ORIGINAL)!;
  stopCine();
  const imageIds = Array.from({ length: Math.max(1, frames) }, (_, frame) =>
    imageIdOf({ kind: 'original', instanceId, frame }),
  );
  const imageId = imageIds[0]!;
  // A multi-frame image is a stack the wheel scrolls through; a single image keeps the wheel for zoom.
  setWheelScrolls(TOOL_GROUP_ID, imageIds.length > 1);
  await viewport.setStack(imageIds, 0);
  if (stale()) return null;
  const image = loadedImage(imageId) ?? null;
  viewport.setProperties({ invert: initialInvert(image ?? undefined) });
  viewport.render();
  return { image, zoom: viewport.getZoom() };
}

/**
 * Shows one restored pass where the reader is on the original (same camera, levels and invert) and
 * links it to the synchronisers. Resolves true once shown, false when `stale()` (nothing changed).
 */
export async function showRestored(
  ref: { instanceId: number; modelId: string; pass: number },
  stale: () => boolean,
): Promise<boolean> {
  const viewport = viewportOf(RESTORED)!;
  const imageId = imageIdOf({ kind: 'restored', ...ref });
  await viewport.setStack([imageId]);
  if (stale()) return false;
  // Start from where the reader is on the original (the synchronisers keep it so afterwards).
  const original = viewportOf(ORIGINAL)!;
  viewport.setCamera(original.getCamera());
  const { voiRange, invert } = original.getProperties();
  viewport.setProperties({ voiRange, invert });
  viewport.render();
  syncRestored(true);
  return true;
}

/** Adds the restored viewport to (or removes it from) the camera and VOI synchronisers. */
export function syncRestored(on: boolean): void {
  for (const id of [CAMERA_SYNC_ID, VOI_SYNC_ID]) {
    const sync = SynchronizerManager.getSynchronizer(id);
    const target = { renderingEngineId: ENGINE_ID, viewportId: RESTORED };
    if (!sync) continue;
    const has = sync.getTargetViewports().some((v) => v.viewportId === RESTORED);
    if (on && !has) sync.add(target);
    if (!on && has) sync.remove(target);
  }
}

function eachViewport(action: (viewport: Types.IStackViewport) => void) {
  for (const id of [ORIGINAL, RESTORED] as const) {
    const viewport = viewportOf(id);
    if (viewport?.getCurrentImageId()) {
      action(viewport);
      viewport.render();
    }
  }
}

// The view commands act on the original; the synchronisers carry them to the restored pass.

export function applyPreset(preset: Preset): void {
  viewportOf(ORIGINAL)?.setProperties({ voiRange: toRange(preset) });
  viewportOf(ORIGINAL)?.render();
}

export function rotate(): void {
  const viewport = viewportOf(ORIGINAL);
  if (!viewport) return;
  viewport.setViewPresentation({ rotation: (viewport.getRotation() + 90) % 360 });
  viewport.render();
}

export function flip(axis: 'flipHorizontal' | 'flipVertical'): void {
  const viewport = viewportOf(ORIGINAL);
  if (!viewport) return;
  viewport.setCamera({ [axis]: !viewport.getCamera()[axis] });
  viewport.render();
}

export function invert(): void {
  const viewport = viewportOf(ORIGINAL);
  if (!viewport) return;
  viewport.setProperties({ invert: !viewport.getProperties().invert });
  viewport.render();
}

/** Fits the image to the window, keeping rotation and flips. */
export function fit(): void {
  const viewport = viewportOf(ORIGINAL);
  if (!viewport) return;
  const rotation = viewport.getRotation();
  const { flipHorizontal, flipVertical } = viewport.getCamera();
  viewport.resetCamera();
  viewport.setViewPresentation({ rotation });
  viewport.setCamera({ flipHorizontal, flipVertical });
  viewport.render();
}

/** Camera and properties back to the start: the image's initial invert and its first preset. */
export function reset(image: ViewerImage | null, presets: readonly Preset[]): void {
  eachViewport((viewport) => {
    viewport.resetCamera();
    viewport.resetProperties();
  });
  viewportOf(ORIGINAL)?.setProperties({ invert: initialInvert(image ?? undefined) });
  if (presets[0]) applyPreset(presets[0]);
}

/**
 * The pixel under the pointer in `which`, in the image's own units: null outside the image,
 * undefined when that viewport shows nothing (the readout keeps what it had).
 */
export function probeAt(event: PointerEvent, which: ViewportName): Probe | null | undefined {
  const element = event.currentTarget as HTMLDivElement;
  const viewport = viewportOf(which);
  const imageId = viewport?.getCurrentImageId();
  const shown = imageId ? loadedImage(imageId) : undefined;
  if (!viewport || !shown) return undefined;
  const rect = element.getBoundingClientRect();
  const world = viewport.canvasToWorld([event.clientX - rect.left, event.clientY - rect.top]);
  const origin = (viewport.getImageData()?.origin ?? [0, 0, 0]) as number[];
  const x = Math.round((world[0]! - origin[0]!) / shown.spacing.column);
  const y = Math.round((world[1]! - origin[1]!) / shown.spacing.row);
  if (x < 0 || y < 0 || x >= shown.width || y >= shown.height) return null;
  const values = viewport.getCornerstoneImage().getPixelData();
  const at = (y * shown.width + x) * shown.components;
  const value =
    shown.components === 3
      ? `RGB ${values[at]} ${values[at + 1]} ${values[at + 2]}`
      : `${Number(values[at]).toFixed(shown.dataType === 'float32' ? 1 : 0)}${shown.units ? ` ${shown.units}` : ''}`;
  return { x, y, value, which };
}

/** The frame on show in the original viewport (0-based). */
export function currentFrame(): number {
  return viewportOf(ORIGINAL)?.getCurrentImageIdIndex() ?? 0;
}

/** Shows frame `index` of the open stack (clamped); resolves once it is on screen. */
export async function showFrame(index: number): Promise<void> {
  const viewport = viewportOf(ORIGINAL);
  if (!viewport) return;
  const last = viewport.getImageIds().length - 1;
  await viewport.setImageIdIndex(Math.min(last, Math.max(0, index)));
}

/** Frame count of the open stack. */
export function frameCount(): number {
  return viewportOf(ORIGINAL)?.getImageIds().length ?? 0;
}

let cineOn = false;

/** Plays the frames in a loop at `fps` (Cornerstone's cine), until stopCine or another image. */
export function playCine(fps: number): void {
  if (!originalElement || frameCount() < 2) return;
  toolUtilities.cine.playClip(originalElement, { framesPerSecond: fps, loop: true });
  cineOn = true;
}

export function stopCine(): void {
  if (cineOn && originalElement) toolUtilities.cine.stopClip(originalElement);
  cineOn = false;
}

/** The original's zoom, rotation, flips and frame as the overlay shows them. */
export function viewState(): ViewState | null {
  const viewport = viewportOf(ORIGINAL);
  const imageId = viewport?.getCurrentImageId();
  const shown = imageId ? loadedImage(imageId) : undefined;
  if (!viewport || !shown) return null;
  const camera = viewport.getCamera();
  const cssHeight = viewport.element.clientHeight || 1;
  const worldPerCssPixel = (2 * (camera.parallelScale ?? 1)) / cssHeight;
  return {
    scale: (shown.spacing.row * devicePixelRatio) / worldPerCssPixel,
    worldPerCssPixel,
    rotation: viewport.getRotation(),
    flipHorizontal: camera.flipHorizontal ?? false,
    flipVertical: camera.flipVertical ?? false,
    frame: viewport.getCurrentImageIdIndex(),
  };
}

/** One image pixel per screen (device) pixel, about the current centre. */
export function oneToOne(): void {
  const viewport = viewportOf(ORIGINAL);
  const imageId = viewport?.getCurrentImageId();
  const shown = imageId ? loadedImage(imageId) : undefined;
  if (!viewport || !shown) return;
  const cssHeight = viewport.element.clientHeight || 1;
  viewport.setCamera({ parallelScale: (cssHeight * devicePixelRatio * shown.spacing.row) / 2 });
  viewport.render();
}
