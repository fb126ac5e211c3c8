// Patient names come in any script, and the app is offline: Noto Sans SC is shipped (regular weight,
// split by unicode-range so only the subsets a page uses are loaded; it covers Han, kana and Hangul).
// The body lists it after the system fonts, so Latin text keeps the system font and CJK names render
// instead of boxes on machines without a CJK font. `body` (not :root) so it wins over app.css's :root.
// Imported by App.svelte: the faces must be registered before the first text is shaped, or Chromium
// caches its fallback (boxes) for that font description.
import '@fontsource/noto-sans-sc/400.css';
import './fonts.css';
