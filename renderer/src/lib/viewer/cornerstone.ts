// Cornerstone3D set-up for the viewer: images come from the main process over the IPC contract (not
// from a DICOM web loader), so this registers an 'r2c:' image loader and a metadata provider for them.
import {
  cache,
  Enums,
  init as initCore,
  metaData,
  RenderingEngine,
  registerImageLoader,
  type Types,
  utilities,
} from '@cornerstonejs/core';
import {
  AngleTool,
  addTool,
  init as initTools,
  LengthTool,
  PanTool,
  PlanarRotateTool,
  ProbeTool,
  StackScrollTool,
  ToolGroupManager,
  Enums as ToolEnums,
  WindowLevelTool,
  ZoomTool,
} from '@cornerstonejs/tools';
import type { Output } from '../../../../main/contract/types.ts';
import { api } from '../api.ts';

export type ViewerImage = Output<'getViewerImage'>;

/**
 * What an image id names: the original of an instance, one restored pass by one model, or a reader
 * study's blinded presentation (its opaque id only; its pixels come from getReviewPixels).
 */
export type ImageRef =
  | { kind: 'original'; instanceId: number; frame?: number }
  | { kind: 'restored'; instanceId: number; modelId: string; pass: number }
  | { kind: 'review'; presentationId: string };

export function imageIdOf(ref: ImageRef): string {
  if (ref.kind === 'review') return `r2c:review:${ref.presentationId}`;
  return ref.kind === 'original'
    ? `r2c:original:${ref.instanceId}:${ref.frame ?? 0}`
    : `r2c:restored:${ref.instanceId}:${ref.modelId}:${ref.pass}`;
}

export function refOf(imageId: string): ImageRef {
  const [, kind, id, modelIdOrFrame, pass] = imageId.split(':');
  if (kind === 'review') return { kind, presentationId: id! };
  if (kind === 'original') return { kind, instanceId: Number(id), frame: Number(modelIdOrFrame ?? 0) };
  const modelId = modelIdOrFrame;
  return { kind: 'restored', instanceId: Number(id), modelId: modelId!, pass: Number(pass) };
}

interface Loaded {
  image: ViewerImage;
  /** World position of pixel (0,0)'s centre: restored images are offset so both share one frame. */
  origin: Types.Point3;
}

const loaded = new Map<string, Loaded>();
/** The originals' sizes, so restored images can be placed in the same world frame. */
const originals = new Map<number, ViewerImage>();

function typedPixels(image: ViewerImage) {
  const { pixels } = image;
  const buffer = pixels.buffer.slice(pixels.byteOffset, pixels.byteOffset + pixels.byteLength) as ArrayBuffer;
  switch (image.dataType) {
    case 'uint8':
      return new Uint8Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'uint16':
      return new Uint16Array(buffer);
    default:
      return new Float32Array(buffer);
  }
}

const dataTypeNames = {
  uint8: 'Uint8Array',
  int16: 'Int16Array',
  uint16: 'Uint16Array',
  float32: 'Float32Array',
} as const;

/** A blinded presentation as a viewer image: both of a case share units, window and world frame. */
async function fetchReviewImage(presentationId: string): Promise<Loaded> {
  const p = await api.getReviewPixels({ presentationId });
  const values = typedPixels({ dataType: p.dataType, pixels: p.pixels } as ViewerImage);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const image: ViewerImage = {
    width: p.width,
    height: p.height,
    components: 1,
    dataType: p.dataType,
    pixels: p.pixels,
    min,
    max,
    photometric: p.photometric,
    windows: [{ ...p.window, label: 'Study default', source: 'file' }],
    voiFunction: p.voiFunction,
    spacing: { row: 1, column: 1 },
    calibration: null,
    modality: null,
    units: p.units,
    frames: 1,
    frame: 0,
    lossy: false,
    overlay: null,
  };
  return { image, origin: [0, 0, 0] };
}

async function fetchImage(ref: ImageRef): Promise<Loaded> {
  if (ref.kind === 'review') return fetchReviewImage(ref.presentationId);
  if (ref.kind === 'original') {
    const image = await api.getViewerImage({ instanceId: ref.instanceId, frame: ref.frame ?? 0 });
    if (!ref.frame) originals.set(ref.instanceId, image);
    return { image, origin: [0, 0, 0] };
  }
  const image = await api.getRestoredImage({
    instanceId: ref.instanceId,
    modelId: ref.modelId,
    pass: ref.pass,
  });
  const original =
    originals.get(ref.instanceId) ??
    (await fetchImage({ kind: 'original', instanceId: ref.instanceId })).image;
  // Pixel centres sit half a pixel in; coarser pixels need a larger offset to cover the same extent.
  const origin: Types.Point3 = [
    (image.spacing.column - original.spacing.column) / 2,
    (image.spacing.row - original.spacing.row) / 2,
    0,
  ];
  return { image, origin };
}

/**
 * MONOCHROME1 is handed to Cornerstone as MONOCHROME2 and inverted through the viewport's `invert`
 * property instead: Cornerstone's own MONOCHROME1 path re-inverts when a synchroniser sets the VOI,
 * which showed one of two synced viewports the wrong way round.
 */
function cornerstonePhotometric(image: ViewerImage): string {
  return image.photometric === 'MONOCHROME1' ? 'MONOCHROME2' : image.photometric;
}

/** The invert state an image opens with (true for MONOCHROME1: low values white). */
export function initialInvert(image: ViewerImage | undefined): boolean {
  return image?.photometric === 'MONOCHROME1';
}

async function loadImage(imageId: string): Promise<Types.IImage> {
  const entry = await fetchImage(refOf(imageId));
  loaded.set(imageId, entry);
  const { image } = entry;
  const scalarData = typedPixels(image);
  const preset = image.windows[0]!;
  const voxelManager = utilities.VoxelManager.createImageVoxelManager({
    width: image.width,
    height: image.height,
    numberOfComponents: image.components,
    scalarData,
    id: imageId,
  });
  return {
    imageId,
    minPixelValue: image.min,
    maxPixelValue: image.max,
    slope: 1,
    intercept: 0,
    windowCenter: preset.center,
    windowWidth: preset.width,
    voiLUTFunction:
      image.voiFunction === 'SIGMOID'
        ? Enums.VOILUTFunctionType.SAMPLED_SIGMOID
        : Enums.VOILUTFunctionType.LINEAR,
    getPixelData: () => scalarData,
    getCanvas: () => {
      throw new Error('not a canvas image');
    },
    rows: image.height,
    columns: image.width,
    height: image.height,
    width: image.width,
    color: image.components === 3,
    rgba: false,
    numberOfComponents: image.components,
    columnPixelSpacing: image.spacing.column,
    rowPixelSpacing: image.spacing.row,
    invert: false,
    photometricInterpretation: cornerstonePhotometric(image),
    sizeInBytes: scalarData.byteLength,
    dataType: dataTypeNames[image.dataType],
    voxelManager,
  } as Types.IImage;
}

function provideMetadata(type: string, imageId: string): unknown {
  const entry = loaded.get(imageId);
  if (!entry) return undefined;
  const { image, origin } = entry;
  const bits = { uint8: 8, int16: 16, uint16: 16, float32: 32 }[image.dataType];
  switch (type) {
    case 'imagePixelModule':
      return {
        samplesPerPixel: image.components,
        photometricInterpretation: cornerstonePhotometric(image),
        rows: image.height,
        columns: image.width,
        bitsAllocated: bits,
        bitsStored: bits,
        highBit: bits - 1,
        pixelRepresentation: image.dataType === 'int16' ? 1 : 0,
      };
    case 'imagePlaneModule':
      return {
        frameOfReferenceUID: frameOf(refOf(imageId)),
        rows: image.height,
        columns: image.width,
        imageOrientationPatient: [1, 0, 0, 0, 1, 0],
        rowCosines: [1, 0, 0],
        columnCosines: [0, 1, 0],
        imagePositionPatient: origin,
        pixelSpacing: [image.spacing.row, image.spacing.column],
        rowPixelSpacing: image.spacing.row,
        columnPixelSpacing: image.spacing.column,
        usingDefaultValues: image.calibration === null,
      };
    case 'generalSeriesModule':
      return { modality: image.modality ?? 'OT', seriesInstanceUID: `r2c-series-${imageId}` };
    case 'voiLutModule':
      return {
        windowCenter: image.windows.map((w) => w.center),
        windowWidth: image.windows.map((w) => w.width),
        voiLUTFunction: image.voiFunction,
      };
    case 'modalityLutModule':
      return { rescaleSlope: 1, rescaleIntercept: 0, rescaleType: image.units || undefined };
    default:
      return undefined;
  }
}

/** One frame of reference per instance; a reader study's images share one (they are placed alike). */
function frameOf(ref: ImageRef): string {
  return ref.kind === 'review' ? 'r2c-frame-review' : `r2c-frame-${ref.instanceId}`;
}

/**
 * Drops an image from this loader and Cornerstone's cache (the reading view, case by case: a study's
 * full-resolution images are not all kept). The next use loads it again.
 */
export function forgetImage(imageId: string): void {
  loaded.delete(imageId);
  if (cache.getImageLoadObject(imageId)) cache.removeImageLoadObject(imageId, { force: true });
}

export function loadedImage(imageId: string): ViewerImage | undefined {
  return loaded.get(imageId)?.image;
}

let ready: Promise<void> | undefined;

/** Initialises Cornerstone once per page (core, tools, the r2c loader and metadata provider). */
export function initCornerstone(): Promise<void> {
  ready ??= (async () => {
    await initCore();
    initTools();
    registerImageLoader('r2c', (imageId: string) => ({ promise: loadImage(imageId) }) as never);
    metaData.addProvider(provideMetadata, 10_000);
    for (const tool of [
      WindowLevelTool,
      PanTool,
      ZoomTool,
      LengthTool,
      AngleTool,
      ProbeTool,
      PlanarRotateTool,
      StackScrollTool,
    ])
      addTool(tool);
  })();
  return ready;
}

export const TOOLS = {
  windowLevel: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  length: LengthTool.toolName,
  angle: AngleTool.toolName,
  probe: ProbeTool.toolName,
  rotate: PlanarRotateTool.toolName,
} as const;
export type ToolId = keyof typeof TOOLS;

/**
 * What the mouse wheel does: zoom, or (as OHIF and Weasis do for stacks) scroll through the frames of
 * a multi-frame image. Set by the viewer when an image opens.
 */
let wheelScrolls = false;

/** One tool group for every viewport on the page; the left button runs the chosen tool. */
export function createToolGroup(id: string) {
  ToolGroupManager.destroyToolGroup(id);
  const group = ToolGroupManager.createToolGroup(id)!;
  for (const name of Object.values(TOOLS)) group.addTool(name);
  group.addTool(StackScrollTool.toolName);
  primaryTool = 'windowLevel';
  bindTools(group);
  return group;
}

let primaryTool: ToolId = 'windowLevel';

function bindTools(group: NonNullable<ReturnType<typeof ToolGroupManager.getToolGroup>>): void {
  const { MouseBindings } = ToolEnums;
  // setToolActive ADDS bindings, so every tool is cleared first; annotations stay visible (passive).
  for (const name of [...Object.values(TOOLS), StackScrollTool.toolName])
    group.setToolPassive(name, { removeAllBindings: true });
  const wheel = { mouseButton: MouseBindings.Wheel };
  const bindings: Record<ToolId, { mouseButton: number }[]> = {
    windowLevel: [],
    pan: [{ mouseButton: MouseBindings.Auxiliary }],
    zoom: [{ mouseButton: MouseBindings.Secondary }, ...(wheelScrolls ? [] : [wheel])],
    length: [],
    angle: [],
    probe: [],
    rotate: [],
  };
  bindings[primaryTool].push({ mouseButton: MouseBindings.Primary });
  for (const [id, list] of Object.entries(bindings) as [ToolId, { mouseButton: number }[]][])
    if (list.length > 0) group.setToolActive(TOOLS[id], { bindings: list });
  if (wheelScrolls) group.setToolActive(StackScrollTool.toolName, { bindings: [wheel] });
}

export function setPrimaryTool(groupId: string, tool: ToolId): void {
  const group = ToolGroupManager.getToolGroup(groupId);
  if (!group) return;
  primaryTool = tool;
  bindTools(group);
}

/** The wheel scrolls frames (true) or zooms (false). */
export function setWheelScrolls(groupId: string, scrolls: boolean): void {
  const group = ToolGroupManager.getToolGroup(groupId);
  if (!group || scrolls === wheelScrolls) return;
  wheelScrolls = scrolls;
  bindTools(group);
}

export { Enums, RenderingEngine };
