import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barChartSvg, escapeXml, rocCurveSvg } from '../../../main/evaluation/plots.ts';

/** Checks that every element opened is closed in order (enough to catch broken markup we generate). */
function assertBalanced(svg: string) {
  const stack: string[] = [];
  for (const match of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = match;
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name, `unbalanced </${name}>`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, []);
}

test('ROC SVG: one polyline per curve with every point, names escaped, AUC in the legend', () => {
  const svg = rocCurveSvg([
    {
      name: 'restored <A&B>',
      points: [
        { fpr: 0, tpr: 0 },
        { fpr: 0.2, tpr: 0.7 },
        { fpr: 1, tpr: 1 },
      ],
      auc: 0.826,
    },
    {
      name: 'clean',
      points: [
        { fpr: 0, tpr: 0 },
        { fpr: 1, tpr: 1 },
      ],
    },
  ]);
  assert.ok(
    svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'),
    'svg.startsWith(\'<svg xmlns="http://www.w3.org/2000/svg"\')',
  );
  assertBalanced(svg);
  const polylines = [...svg.matchAll(/<polyline points="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
  assert.deepEqual(polylines, [3, 2]);
  assert.ok(
    svg.includes('restored &lt;A&amp;B&gt; (AUC 0.83)'),
    "svg.includes('restored &lt;A&amp;B&gt; (AUC 0.83)')",
  );
  assert.ok(!svg.includes('<A&B>'), "!svg.includes('<A&B>')");
});

test('bar chart SVG: one bar per finite value, negative bars hang below the zero line', () => {
  const svg = barChartSvg({
    title: 'PSNR gain',
    yLabel: 'dB',
    categories: ['all', 'gaussian_noise', 'motion_blur'],
    series: [
      { name: 'restored', values: [2, 3.5, -1] },
      { name: 'nlm', values: [1, Number.NaN, 0.5] },
    ],
  });
  assertBalanced(svg);
  const bars = [
    ...svg.matchAll(
      /<rect x="[^"]*" y="([^"]*)" width="[^"]*" height="([^"]*)" fill="[^"]*"><title>([^<]*)</g,
    ),
  ];
  assert.equal(bars.length, 5);
  const zero = Number(/<line x1="60" y1="([^"]*)"[^>]*stroke="#333"/.exec(svg)![1]);
  const negative = bars.find((b) => b[3]!.includes('motion_blur: -1'))!;
  assert.ok(Math.abs(Number(negative[1]) - zero) < 0.011, 'a negative bar starts at the zero line');
  const positive = bars.find((b) => b[3]!.includes('gaussian_noise: 3.5'))!;
  assert.ok(
    Math.abs(Number(positive[1]) + Number(positive[2]) - zero) < 0.02,
    'a positive bar ends at the zero line',
  );
  assert.equal(escapeXml(`a"b'c`), 'a&quot;b&apos;c');
});
