import type { DatasetItem, Label } from './dataset.ts';
import { Rng } from './random.ts';

export interface SplitResult {
  train: DatasetItem[];
  validation: DatasetItem[];
}

/**
 * Groups items that must stay together: items sharing a patient id or a split group are joined
 * (transitively, union-find); items with neither are their own group. Groups are sorted by their
 * smallest item id, so the result does not depend on input order.
 */
export function groupItems(items: readonly DatasetItem[]): DatasetItem[][] {
  const parent = items.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const firstByKey = new Map<string, number>();
  items.forEach((item, i) => {
    for (const key of [
      item.patientId ? `patient:${item.patientId}` : '',
      item.splitGroup ? `group:${item.splitGroup}` : '',
    ]) {
      if (!key) continue;
      const first = firstByKey.get(key);
      if (first === undefined) firstByKey.set(key, i);
      else parent[find(i)] = find(first);
    }
  });
  const groups = new Map<number, DatasetItem[]>();
  items.forEach((item, i) => {
    const root = find(i);
    const group = groups.get(root);
    if (group) group.push(item);
    else groups.set(root, [item]);
  });
  const byId = (a: DatasetItem, b: DatasetItem) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const sorted = [...groups.values()].map((group) => group.sort(byId));
  return sorted.sort((a, b) => byId(a[0]!, b[0]!));
}

export interface SplitOptions {
  seed: number | string;
  /** Share of items (per label, as far as groups allow) that go to the second part. */
  fraction: number;
}

/**
 * Deterministic grouped, label-stratified split. Groups are shuffled by the seed and taken into the
 * second part whenever that brings its per-label counts closer to `fraction` of each label's total.
 * No group is ever divided. Same items and seed give the same split, whatever the input order.
 */
export function splitGrouped(
  items: readonly DatasetItem[],
  options: SplitOptions,
): [DatasetItem[], DatasetItem[]] {
  const { fraction } = options;
  if (!(fraction >= 0 && fraction <= 1))
    throw new RangeError(`split fraction must be in [0,1], got ${fraction}`);
  const groups = new Rng(options.seed, 'split').shuffle(groupItems(items));
  const totals = countLabels(items);
  const target = { covid: Math.round(totals.covid * fraction), normal: Math.round(totals.normal * fraction) };
  const taken = { covid: 0, normal: 0 };
  const first: DatasetItem[] = [];
  const second: DatasetItem[] = [];
  for (const group of groups) {
    const counts = countLabels(group);
    const before = Math.abs(taken.covid - target.covid) + Math.abs(taken.normal - target.normal);
    const after =
      Math.abs(taken.covid + counts.covid - target.covid) +
      Math.abs(taken.normal + counts.normal - target.normal);
    if (after < before) {
      second.push(...group);
      taken.covid += counts.covid;
      taken.normal += counts.normal;
    } else {
      first.push(...group);
    }
  }
  const byId = (a: DatasetItem, b: DatasetItem) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return [first.sort(byId), second.sort(byId)];
}

/** Train/validation split by seed, grouped by patient id / split group, stratified by label. */
export function splitTrainValidation(
  items: readonly DatasetItem[],
  options: { seed: number | string; validationFraction: number },
): SplitResult {
  const [train, validation] = splitGrouped(items, {
    seed: options.seed,
    fraction: options.validationFraction,
  });
  return { train, validation };
}

export interface ThreeWaySplit extends SplitResult {
  /** Held out from training like validation, for choosing thresholds (never for the card's figures). */
  calibration: DatasetItem[];
}

/**
 * Train / calibration / validation by patient. Validation is exactly splitTrainValidation's (so
 * validation sets of earlier runs stay the same); calibration is then split off the rest with its own
 * seed stream, `calibrationFraction` of all items. Stable by seed; no group is ever divided.
 */
export function splitThreeWay(
  items: readonly DatasetItem[],
  options: { seed: number | string; validationFraction: number; calibrationFraction: number },
): ThreeWaySplit {
  const { train: rest, validation } = splitTrainValidation(items, options);
  const { calibrationFraction: c, validationFraction: v } = options;
  if (!(c >= 0 && c + v < 1))
    throw new RangeError(
      `calibration fraction must be >= 0 and leave training data, got ${c} with validation ${v}`,
    );
  if (c === 0) return { train: rest, calibration: [], validation };
  const [train, calibration] = splitGrouped(rest, {
    seed: `${options.seed}/calibration`,
    fraction: c / (1 - v),
  });
  return { train, calibration, validation };
}

export function countLabels(items: readonly DatasetItem[]): Record<Label, number> {
  const counts = { covid: 0, normal: 0 };
  for (const item of items) counts[item.label]++;
  return counts;
}
