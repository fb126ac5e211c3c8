// Fonts for the PDF report. Study, reader and question names come in any script, and the standard
// PDF fonts only know WinAnsi, so the report embeds Noto Sans SC from @fontsource/noto-sans-sc (a
// dependency the viewer already ships; inside the packaged app it is read from node_modules in the
// archive, no system font and no download). The package splits the font into subsets with the
// unicode ranges browsers use (400.css, 700.css): Latin, Latin extended, Cyrillic, Vietnamese and
// numbered subsets (Han, kana, CJK punctuation, many symbols, some Hangul). Text is cut into runs, each in
// the first subset whose range holds its characters; pdfkit embeds only the glyphs used. A character
// in no subset (Greek, most Hangul syllables, Devanagari, ...) is written as its nearest ASCII, else '?'.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inflateSync } from 'node:zlib';

export interface FontFace {
  /** The name the face is registered under in a PDF document. */
  key: string;
  file: string;
  ranges: [number, number][];
}

export interface TextRun {
  face: FontFace;
  text: string;
}

/** Curly quotes are full-width in this CJK font (a wide gap after "reader’s"): written straight. */
const STRAIGHT_QUOTES: Record<string, string> = {
  '\u2018': "'",
  '\u2019': "'",
  '\u201c': '"',
  '\u201d': '"',
};

/** Characters in no subset written as their nearest ASCII. */
const REPLACEMENTS: Record<string, string> = {
  '\u03b1': 'alpha',
  '\u03ba': 'kappa',
  '\u2264': '<=',
  '\u2265': '>=',
  '\u2248': '~',
  '\u221a': 'sqrt',
};

let packageDir: string | undefined;

/** The installed @fontsource/noto-sans-sc folder (its exports name index.css, not package.json). */
export function fontPackageDir(): string {
  packageDir ??= dirname(createRequire(import.meta.url).resolve('@fontsource/noto-sans-sc'));
  return packageDir;
}

function parseRanges(text: string): [number, number][] {
  return text.split(',').map((part) => {
    const [from, to] = part.trim().replace(/^U\+/i, '').split('-');
    const start = Number.parseInt(from!, 16);
    return [start, to === undefined ? start : Number.parseInt(to, 16)];
  });
}

const facesByWeight = new Map<number, FontFace[]>();

/** The subsets of one weight, in the order characters are looked up: Latin first, then the rest as listed. */
export function fontFaces(weight: 400 | 700): FontFace[] {
  const cached = facesByWeight.get(weight);
  if (cached) return cached;
  const dir = fontPackageDir();
  const css = readFileSync(join(dir, `${weight}.css`), 'utf8');
  const faces: FontFace[] = [];
  for (const [, file, range] of css.matchAll(
    /url\(\.\/files\/(noto-sans-sc-[\w-]+-normal\.woff2)\)[^;]*;\s*unicode-range:\s*([^;]+);/g,
  ))
    faces.push({
      key: `NotoSansSC-${weight}-${file!.replace(/\.woff2$/, '')}`,
      // The WOFF file, not the WOFF2 the CSS names first: pdfkit's subsets of these WOFF2 files drew slashes.
      file: join(dir, 'files', file!.replace(/\.woff2$/, '.woff')),
      ranges: parseRanges(range!),
    });
  if (faces.length === 0) throw new Error(`no font subsets found in ${join(dir, `${weight}.css`)}`);
  const order = ['latin', 'latin-ext', 'cyrillic', 'vietnamese'];
  const rank = (f: FontFace) => {
    const i = order.indexOf(/noto-sans-sc-([a-z-]+)-\d00-normal/.exec(f.file)?.[1] ?? '');
    return i < 0 ? order.length : i;
  };
  faces.sort((a, b) => rank(a) - rank(b));
  facesByWeight.set(weight, faces);
  return faces;
}

const faceCache = new Map<string, FontFace | null>();

/** The subset that draws a code point in the given weight, or null when none does. */
export function faceFor(codePoint: number, bold: boolean): FontFace | null {
  const id = `${bold ? 7 : 4}:${codePoint}`;
  const cached = faceCache.get(id);
  if (cached !== undefined) return cached;
  const face =
    fontFaces(bold ? 700 : 400).find((f) => f.ranges.some(([a, b]) => codePoint >= a && codePoint <= b)) ??
    null;
  faceCache.set(id, face);
  return face;
}

/** The text as the PDF will show it: NFC, line breaks as spaces, characters no subset draws replaced. */
export function pdfText(text: string): string {
  let out = '';
  for (const ch of text.normalize('NFC')) {
    if (ch === '\n' || ch === '\t' || ch === '\r') out += ' ';
    else if (STRAIGHT_QUOTES[ch] !== undefined) out += STRAIGHT_QUOTES[ch];
    else if (faceFor(ch.codePointAt(0)!, false)) out += ch;
    else out += REPLACEMENTS[ch] ?? '?';
  }
  return out;
}

/** Runs of one subset each; spaces go with the run they are in (text already through pdfText). */
export function textRuns(text: string, bold: boolean): TextRun[] {
  const runs: TextRun[] = [];
  const latin = fontFaces(bold ? 700 : 400)[0]!;
  for (const ch of text) {
    const last = runs.at(-1);
    const face = ch === ' ' && last ? last.face : (faceFor(ch.codePointAt(0)!, bold) ?? latin);
    if (last && last.face === face) last.text += ch;
    else runs.push({ face, text: ch });
  }
  return runs;
}

const sfntCache = new Map<string, Buffer>();

/**
 * A face's font as plain OpenType bytes, decoded once per process. pdfkit (fontkit) would inflate the
 * WOFF's tables in JavaScript for every document (most of a report's time); WOFF 1.0 is zlib-compressed
 * tables around an sfnt directory, rebuilt here with Node's zlib.
 */
export function faceBytes(face: FontFace): Buffer {
  const cached = sfntCache.get(face.file);
  if (cached) return cached;
  const woff = readFileSync(face.file);
  if (woff.toString('latin1', 0, 4) !== 'wOFF') throw new Error(`${face.file} is not a WOFF 1.0 font`);
  const numTables = woff.readUInt16BE(12);
  const tables = Array.from({ length: numTables }, (_, i) => {
    const at = 44 + 20 * i;
    const offset = woff.readUInt32BE(at + 4);
    const compLength = woff.readUInt32BE(at + 8);
    const origLength = woff.readUInt32BE(at + 12);
    const stored = woff.subarray(offset, offset + compLength);
    const data = compLength < origLength ? inflateSync(stored) : stored;
    if (data.length !== origLength) throw new Error(`${face.file}: a table does not decode to its length`);
    return { tag: woff.subarray(at, at + 4), checksum: woff.readUInt32BE(at + 16), data };
  });
  const entrySelector = Math.floor(Math.log2(numTables));
  const searchRange = 2 ** entrySelector * 16;
  let offset = 12 + 16 * numTables;
  const size = tables.reduce((s, t) => s + Math.ceil(t.data.length / 4) * 4, offset);
  const sfnt = Buffer.alloc(size);
  woff.copy(sfnt, 0, 4, 8); // flavor: TrueType or CFF
  sfnt.writeUInt16BE(numTables, 4);
  sfnt.writeUInt16BE(searchRange, 6);
  sfnt.writeUInt16BE(entrySelector, 8);
  sfnt.writeUInt16BE(numTables * 16 - searchRange, 10);
  tables.forEach((t, i) => {
    const at = 12 + 16 * i;
    t.tag.copy(sfnt, at);
    sfnt.writeUInt32BE(t.checksum, at + 4);
    sfnt.writeUInt32BE(offset, at + 8);
    sfnt.writeUInt32BE(t.data.length, at + 12);
    t.data.copy(sfnt, offset);
    offset += Math.ceil(t.data.length / 4) * 4;
  });
  sfntCache.set(face.file, sfnt);
  return sfnt;
}
