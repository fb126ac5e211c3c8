import { createHash } from 'node:crypto';

/**
 * Seeded randomisation of a reader's session. Own code (sfc32, ~10 lines) because no seeded PRNG
 * package is installed and the sequence must never change across versions or platforms: a study
 * re-opened years later must reproduce each reader's order exactly.
 */
export type Random = () => number;

/** sfc32 generator seeded from SHA-256 of (study seed, reader id). Returns floats in [0, 1). */
export function seededRandom(studySeed: number, readerId: string): Random {
  const digest = createHash('sha256').update(`r2c-reader-study\0${studySeed}\0${readerId}`).digest();
  let a = digest.readUInt32LE(0);
  let b = digest.readUInt32LE(4);
  let c = digest.readUInt32LE(8);
  let d = digest.readUInt32LE(12);
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // warm-up as recommended for sfc32
  return next;
}

export function shuffle<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface CaseTemplate {
  imageId: string;
  /** Index into the study's comparisons. */
  comparison: number;
  /** The two variants compared, in the study's order (not yet left/right). */
  variants: readonly [string, string];
}

export interface PlannedCase extends CaseTemplate {
  left: string;
  right: string;
}

/**
 * Orders a reader's cases and puts one variant of each on the left so that, across the reader's
 * cases, every variant is on the left in half of its cases (|left − right| ≤ 1). Within each
 * comparison the left/right split is exactly even; the single odd case of each comparison with an
 * odd count becomes an edge of a small graph on the variants, oriented along Euler circuits so
 * each variant's leftovers also balance to within one.
 */
export function planSession(templates: readonly CaseTemplate[], random: Random): PlannedCase[] {
  const byComparison = new Map<number, CaseTemplate[]>();
  for (const t of templates) {
    const list = byComparison.get(t.comparison) ?? [];
    list.push(t);
    byComparison.set(t.comparison, list);
  }
  const firstLeft = new Map<CaseTemplate, boolean>();
  const oddEdges: { template: CaseTemplate; a: string; b: string }[] = [];
  for (const list of byComparison.values()) {
    const shuffled = shuffle(list, random);
    const half = Math.floor(shuffled.length / 2);
    shuffled.forEach((t, i) => {
      if (i < half) firstLeft.set(t, true);
      else if (i < 2 * half) firstLeft.set(t, false);
      else oddEdges.push({ template: t, a: t.variants[0], b: t.variants[1] });
    });
  }
  for (const [template, aIsLeft] of orientBalanced(oddEdges, random)) firstLeft.set(template, aIsLeft);
  return shuffle(templates, random).map((t) => {
    const aLeft = firstLeft.get(t)!;
    return {
      ...t,
      left: aLeft ? t.variants[0] : t.variants[1],
      right: aLeft ? t.variants[1] : t.variants[0],
    };
  });
}

/** Orients edges so every vertex's out-degree and in-degree differ by at most one (Euler circuits). */
function orientBalanced(
  edges: readonly { template: CaseTemplate; a: string; b: string }[],
  random: Random,
): Map<CaseTemplate, boolean> {
  const result = new Map<CaseTemplate, boolean>();
  if (edges.length === 0) return result;
  interface Edge {
    u: string;
    v: string;
    template: CaseTemplate | null;
    used: boolean;
  }
  // Random edge order and ends, so the walks (and so which variant of an odd case goes left) vary.
  const all: Edge[] = shuffle(edges, random).map((e) => {
    const flip = random() < 0.5;
    return { u: flip ? e.b : e.a, v: flip ? e.a : e.b, template: e.template, used: false };
  });
  const degree = new Map<string, number>();
  for (const e of all) {
    degree.set(e.u, (degree.get(e.u) ?? 0) + 1);
    degree.set(e.v, (degree.get(e.v) ?? 0) + 1);
  }
  const dummy = '\u0000dummy';
  for (const [vertex, d] of degree)
    if (d % 2 === 1) all.push({ u: vertex, v: dummy, template: null, used: false });
  const incident = new Map<string, Edge[]>();
  for (const e of all) {
    for (const end of [e.u, e.v]) {
      const list = incident.get(end) ?? [];
      list.push(e);
      incident.set(end, list);
    }
  }
  // Walking any unused edge path from a vertex in an all-even graph closes into a circuit; orienting
  // edges in walking direction gives in = out at every vertex.
  for (const start of incident.keys()) {
    let at = start;
    for (;;) {
      const edge = incident.get(at)!.find((e) => !e.used);
      if (!edge) {
        if (at === start) break;
        throw new Error('orientBalanced: internal error (odd vertex left)');
      }
      edge.used = true;
      const from = at;
      at = edge.u === from ? edge.v : edge.u;
      if (edge.template) result.set(edge.template, edge.template.variants[0] === from);
    }
  }
  return result;
}
