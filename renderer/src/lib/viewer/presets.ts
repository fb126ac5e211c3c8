// Window/level presets. CT values are Hounsfield units, so the classic HU windows apply; a radiograph's
// values are detector units with no fixed meaning, so its lung/mediastinum/bone presets are placed
// relative to the image's own window, on the attenuation axis (which MONOCHROME1 runs backwards).
import { utilities } from '@cornerstonejs/core';
import type { ViewerImage } from './cornerstone.ts';

export interface Preset {
  id: string;
  label: string;
  center: number;
  width: number;
}

/** A window from attenuation fractions a0..a1 of the base window (0 least, 1 most attenuating). */
function relative(image: ViewerImage, base: { center: number; width: number }, a0: number, a1: number) {
  const low = base.center - base.width / 2;
  const at = (a: number) =>
    image.photometric === 'MONOCHROME1' ? low + (1 - a) * base.width : low + a * base.width;
  const [p, q] = [at(a0), at(a1)];
  return { center: (p + q) / 2, width: Math.max(1e-6, Math.abs(q - p)) };
}

export function presetsFor(image: ViewerImage): Preset[] {
  const fromFile = image.windows.map((w, index) => ({
    id: `file-${index}`,
    label: index === 0 && w.source !== 'minmax' ? `Auto (${w.label})` : w.label,
    center: w.center,
    width: w.width,
  }));
  if (image.components === 3) return fromFile;
  if (image.units === 'HU') {
    return [
      ...fromFile,
      { id: 'lung', label: 'Lung (W 1500 / L −600 HU)', center: -600, width: 1500 },
      { id: 'mediastinum', label: 'Mediastinum (W 350 / L 50 HU)', center: 50, width: 350 },
      { id: 'bone', label: 'Bone (W 2000 / L 300 HU)', center: 300, width: 2000 },
    ];
  }
  const base = image.windows[0]!;
  return [
    ...fromFile,
    { id: 'lung', label: 'Lung (relative to this image)', ...relative(image, base, 0, 0.6) },
    { id: 'mediastinum', label: 'Mediastinum (relative)', ...relative(image, base, 0.4, 1) },
    { id: 'bone', label: 'Bone (relative)', ...relative(image, base, 0.6, 1.1) },
  ];
}

/**
 * A window as Cornerstone's VOI range, by DICOM's LINEAR function (PS3.3 C.11.2.1.2.1, as Cornerstone
 * maps a file's window), so a preset and the file's own window land on the same range and the
 * readout (toWindow) gives back the numbers the preset or the file named. Windows of one unit or
 * less (float images) are taken as exact.
 */
export function toRange(p: { center: number; width: number }): { lower: number; upper: number } {
  if (p.width <= 1) return { lower: p.center - p.width / 2, upper: p.center + p.width / 2 };
  return utilities.windowLevel.toLowHighRange(p.width, p.center);
}

/** The inverse of toRange. */
export function toWindow(range: { lower: number; upper: number }): { center: number; width: number } {
  const width = range.upper - range.lower;
  if (width < 1) return { center: (range.lower + range.upper) / 2, width };
  const { windowCenter, windowWidth } = utilities.windowLevel.toWindowLevel(range.lower, range.upper);
  return { center: windowCenter, width: windowWidth };
}
