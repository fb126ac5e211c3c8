import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { slug } from '../../../main/util/slug.ts';

describe('slug', () => {
  test('lower-cases, turns each run of other characters into one dash, starts with a letter or digit', () => {
    assert.equal(slug('My Fine-Tune #2'), 'my-fine-tune-2');
    assert.equal(slug('  ..Run  (a)'), 'run-a-');
    assert.equal(slug('r2c_q3.v1'), 'r2c_q3.v1');
    assert.equal(slug('???'), '');
  });

  test('keeps case for file names and cuts at maxLength (40 by default)', () => {
    assert.equal(slug('Reader Study: Q3 vs NLM', { keepCase: true }), 'Reader-Study-Q3-vs-NLM');
    assert.equal(slug('x'.repeat(100)).length, 40);
    assert.equal(slug('x'.repeat(100), { maxLength: 80 }).length, 80);
  });

  test('gives the ids the earlier per-place rules gave for ordinary names', () => {
    // Run folders and local model ids (training), models given by path (inference), exports (review).
    assert.equal(slug('runs-2026 fine tune'), 'runs-2026-fine-tune');
    assert.equal(slug('R2C-Q3 Final'.replace(/\.onnx$/i, ''), { maxLength: 60 }), 'r2c-q3-final');
    assert.equal(slug('Pilot study (Nov)', { keepCase: true, maxLength: 80 }), 'Pilot-study-Nov-');
  });
});
