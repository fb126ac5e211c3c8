// Patient names come in any script, and the app is offline: the CJK subsets of Noto Sans SC
// (@fontsource, regular weight; they cover Han, kana and Hangul) are shipped and registered as the
// family "R2C CJK", split by unicode-range so only the subsets a page uses are loaded. Only the CJK
// subsets: "R2C CJK" is listed FIRST (fonts.css, the overlay, the SR view, key images) — Chromium does
// not fall back to a web font listed after system-ui (it drew boxes) — while Latin text, outside
// every range here, keeps the system font. Imported by App.svelte, before anything is drawn.
import css from '@fontsource/noto-sans-sc/400.css?raw';
import './fonts.css';

export const CJK_FAMILY = 'R2C CJK';

// The subsets' woff2 files as bundled asset URLs, by subset number (the glob is relative: the vite
// root is renderer/, the package sits in the repository's node_modules).
const files = new Map(
  Object.entries(
    import.meta.glob<string>(
      '../../../../node_modules/@fontsource/noto-sans-sc/files/noto-sans-sc-*-400-normal.woff2',
      {
        query: '?url',
        import: 'default',
        eager: true,
      },
    ),
  ).map(([path, url]) => [/noto-sans-sc-(\w+)-400-normal\.woff2$/.exec(path)?.[1], url]),
);

// Each numbered subset's @font-face in the package's CSS: its woff2 file and its unicode-range.
for (const [, subset, range] of css.matchAll(
  /url\(\.\/files\/noto-sans-sc-(\d+)-400-normal\.woff2\)[^;]*;\s*unicode-range:\s*([^;]+);/g,
)) {
  const url = files.get(subset);
  if (!url) continue;
  document.fonts.add(
    new FontFace(CJK_FAMILY, `url(${url}) format('woff2')`, { unicodeRange: range!.trim(), display: 'swap' }),
  );
}
