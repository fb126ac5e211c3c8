import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeXml, metricPalette, niceStep, studyPalette } from '../../../main/util/svg.ts';

describe('SVG helpers', () => {
  test('escapeXml escapes the five XML specials', () => {
    assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });

  test('niceStep rounds up to 1, 2 or 5 × 10^k', () => {
    assert.deepEqual([0.07, 0.1, 0.13, 3, 7, 420].map(niceStep), [0.1, 0.1, 0.2, 5, 10, 500]);
  });

  test('palettes have eight distinct colours', () => {
    for (const palette of [metricPalette, studyPalette]) assert.equal(new Set(palette).size, 8);
  });
});
