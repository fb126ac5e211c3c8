// Measurements on the original viewport and the library: Cornerstone's annotations (world coordinates,
// one per frame image id) to and from the stored form (DICOM image coordinates: column, row with 0,0
// at the top left corner of the first pixel). Our own are saved as the reader draws, edits or deletes
// them; those that an SR or GSPS in the study places on the image come back locked.
import { eventTarget, getRenderingEngine, type Types } from '@cornerstonejs/core';
import { annotation, Enums as ToolEnums, utilities as toolUtilities } from '@cornerstonejs/tools';
import type { Input, Output } from '../../../../main/contract/types.ts';
import { api } from '../api.ts';
import { loadedImage, refOf } from './cornerstone.ts';

export type StoredAnnotation = Input<'saveAnnotations'>['annotations'][number];
type Listed = Output<'listAnnotations'>;

const TOOL_NAMES = { Length: 'Length', Angle: 'Angle', Probe: 'Probe' } as const;
type Tool = keyof typeof TOOL_NAMES;
const SAVE_DELAY_MS = 300;

interface AnyAnnotation {
  annotationUID?: string;
  isLocked?: boolean;
  metadata: { toolName: string; referencedImageId?: string };
  data: { handles: { points: Types.Point3[] }; label?: string };
}

const isTool = (name: string): name is Tool => Object.hasOwn(TOOL_NAMES, name);

/** The original viewport's frame images all share one world frame: pixel (0,0)'s centre at 0,0,0. */
function spacingOf(imageId: string) {
  return loadedImage(imageId)?.spacing ?? { row: 1, column: 1 };
}

const toImage = (p: Types.Point3, s: { row: number; column: number }): [number, number] => [
  p[0] / s.column + 0.5,
  p[1] / s.row + 0.5,
];
const toWorld = (p: [number, number], s: { row: number; column: number }): Types.Point3 => [
  (p[0] - 0.5) * s.column,
  (p[1] - 0.5) * s.row,
  0,
];

/** Our annotations (not locked) on the frames of one instance, in the stored form. */
export function collect(instanceId: number): StoredAnnotation[] {
  const all = annotation.state.getAllAnnotations() as unknown as AnyAnnotation[];
  const out: StoredAnnotation[] = [];
  for (const a of all) {
    const imageId = a.metadata.referencedImageId;
    if (!imageId || a.isLocked || !isTool(a.metadata.toolName) || !a.annotationUID) continue;
    const ref = refOf(imageId);
    if (ref.kind !== 'original' || ref.instanceId !== instanceId) continue;
    const spacing = spacingOf(imageId);
    out.push({
      uid: a.annotationUID,
      frame: ref.frame ?? 0,
      tool: a.metadata.toolName,
      points: a.data.handles.points.map((p) => toImage(p, spacing)),
      ...(a.data.label ? { label: a.data.label.slice(0, 64) } : {}),
    });
  }
  return out;
}

/** Removes every annotation (the viewer shows one image's at a time). */
export function clearAll(): void {
  annotation.state.removeAllAnnotations();
}

/**
 * Adds an instance's stored annotations (editable) and its reports' (locked) to the original
 * viewport, each on its frame's image id.
 */
export function restore(engineId: string, viewportId: string, instanceId: number, listed: Listed): void {
  const viewport = getRenderingEngine(engineId)?.getViewport(viewportId);
  if (!viewport) return;
  const add = (a: StoredAnnotation, locked: boolean, uid: string) => {
    const imageId = `r2c:original:${instanceId}:${a.frame}`;
    const spacing = spacingOf(imageId);
    const created = toolUtilities.annotationHydration(
      viewport,
      TOOL_NAMES[a.tool],
      a.points.map((p) => toWorld(p, spacing)),
      // annotationHydration spreads its options into the metadata: the frame's image id wins.
      { annotationUID: uid, referencedImageId: imageId } as { annotationUID: string },
    ) as unknown as AnyAnnotation;
    if (a.label) created.data.label = a.label;
    if (locked) annotation.locking.setAnnotationLocked(uid, true);
  };
  for (const a of listed.stored) add(a, false, a.uid);
  for (const report of listed.fromReports)
    for (const [index, a] of report.annotations.entries())
      add(a, true, `report-${report.instanceId}-${index}-${a.uid}`.slice(0, 80));
  viewport.render();
}

/**
 * Saves an instance's annotations whenever the reader completes, edits or deletes one (edits are
 * debounced while dragging). Returns the function that stops listening (and saves what is pending).
 */
export function autoSave(instanceId: number, onSaved: (saved: StoredAnnotation[]) => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const save = () => {
    timer = undefined;
    const list = collect(instanceId);
    api.saveAnnotations({ instanceId, annotations: list }).then(
      () => {
        if (!stopped) onSaved(list);
      },
      () => {}, // reported by the api layer's error banner
    );
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, SAVE_DELAY_MS);
  };
  const events = [
    ToolEnums.Events.ANNOTATION_COMPLETED,
    ToolEnums.Events.ANNOTATION_MODIFIED,
    ToolEnums.Events.ANNOTATION_REMOVED,
  ];
  for (const name of events) eventTarget.addEventListener(name, schedule);
  return () => {
    for (const name of events) eventTarget.removeEventListener(name, schedule);
    if (timer) {
      clearTimeout(timer);
      save();
    }
    stopped = true;
  };
}

/** Deletes the selected annotations that are ours (locked ones come from a report). */
export function deleteSelected(): number {
  let removed = 0;
  for (const uid of annotation.selection.getAnnotationsSelected()) {
    if (annotation.locking.isAnnotationLocked(uid)) continue;
    annotation.state.removeAnnotation(uid);
    removed++;
  }
  return removed;
}

export function deleteAnnotation(uid: string): void {
  annotation.state.removeAnnotation(uid);
}

/** A length (mm, or pixels when uncalibrated) or an angle (degrees), as the measurement panel lists it. */
export function measured(a: StoredAnnotation, spacing: { row: number; column: number } | null): string {
  const sx = spacing?.column ?? 1;
  const sy = spacing?.row ?? 1;
  const [p, q, r] = a.points;
  if (a.tool === 'Length' && p && q)
    return `${Math.hypot((q[0] - p[0]) * sx, (q[1] - p[1]) * sy).toFixed(1)} ${spacing ? 'mm' : 'px'}`;
  if (a.tool === 'Angle' && p && q && r) {
    const u = [(p[0] - q[0]) * sx, (p[1] - q[1]) * sy] as const;
    const v = [(r[0] - q[0]) * sx, (r[1] - q[1]) * sy] as const;
    const cos = (u[0] * v[0] + u[1] * v[1]) / (Math.hypot(...u) * Math.hypot(...v));
    return `${((Math.acos(Math.min(1, Math.max(-1, cos))) * 180) / Math.PI).toFixed(1)}°`;
  }
  return p ? `(${Math.floor(p[0])}, ${Math.floor(p[1])})` : '';
}
