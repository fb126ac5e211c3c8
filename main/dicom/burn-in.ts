// Text burnt into pixels (the "AI restored — not for primary diagnosis" marking of derived images).
// A built-in 5x7 bitmap font rather than sharp's SVG text: that needs system fonts through fontconfig,
// which an offline install may lack or substitute, and the marking must look the same everywhere.
import type { GrayImage } from '../util/image.ts';

const GLYPHS: Record<string, string[]> = {
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['####.', '#...#', '#...#', '#...#', '#...#', '#...#', '####.'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.###.'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  '-': ['.....', '.....', '.....', '#####', '.....', '.....', '.....'],
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....'],
};

export const AI_RESTORED_MARKING = 'AI RESTORED - NOT FOR PRIMARY DIAGNOSIS';

export interface BurntText {
  /** Box the marking occupies (background and text), in pixels. */
  box: { x: number; y: number; width: number; height: number };
  /** Font pixel size. */
  scale: number;
  /** 1 where a text pixel was drawn (box-sized, row-major). */
  mask: Uint8Array;
}

/** Font scale for an image: the text spans at most about 60% of the width. */
export function markingScale(imageWidth: number, text: string): number {
  return Math.max(1, Math.floor((0.6 * imageWidth) / (text.length * 6)));
}

/**
 * Draws `text` (upper case; characters without a glyph draw as blanks) into the top-left corner of a
 * copy of `image` ([0,1], bright = white): white text on a black box, clipped to the image.
 */
export function burnInText(image: GrayImage, text: string): { image: GrayImage; burnt: BurntText } {
  const scale = markingScale(image.width, text);
  const pad = scale * 2;
  const margin = scale * 2;
  const chars = text.toUpperCase();
  const boxWidth = Math.min(image.width - margin, chars.length * 6 * scale - scale + 2 * pad);
  const boxHeight = Math.min(image.height - margin, 7 * scale + 2 * pad);
  const box = { x: margin, y: margin, width: Math.max(0, boxWidth), height: Math.max(0, boxHeight) };
  const data = new Float32Array(image.data);
  const mask = new Uint8Array(box.width * box.height);
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) {
      const gx = Math.floor((x - pad) / scale);
      const gy = Math.floor((y - pad) / scale);
      const ch = chars[Math.floor(gx / 6)];
      const col = gx % 6;
      const on =
        x >= pad && y >= pad && gy < 7 && col < 5 && ch !== undefined && GLYPHS[ch]?.[gy]?.[col] === '#';
      mask[y * box.width + x] = on ? 1 : 0;
      data[(box.y + y) * image.width + box.x + x] = on ? 1 : 0;
    }
  }
  return { image: { width: image.width, height: image.height, data }, burnt: { box, scale, mask } };
}
