import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseCsv, parseCsvRecords } from '../../../main/data/csv.ts';
import { AppError } from '../../../main/util/errors.ts';
import { sharedDataMissing, sharedManifest } from './shared-data.ts';

test('quoted fields keep commas, doubled quotes and line breaks', () => {
  const text = 'a,b,c\r\n"x, y","say ""hi""","two\nlines"\n,,\n"",plain,"end"';
  assert.deepEqual(parseCsv(text), [
    ['a', 'b', 'c'],
    ['x, y', 'say "hi"', 'two\nlines'],
    ['', '', ''],
    ['', 'plain', 'end'],
  ]);
});

test('BOM, trailing line break and CR-only line ends', () => {
  assert.deepEqual(parseCsv('\ufeffa,b\n1,2\n'), [
    ['a', 'b'],
    ['1', '2'],
  ]);
  assert.deepEqual(parseCsv('a,b\r1,2'), [
    ['a', 'b'],
    ['1', '2'],
  ]);
  assert.deepEqual(parseCsv('a,b\n1,2'), parseCsv('a,b\n1,2\n'));
});

test('a quote inside an unquoted field is literal', () => {
  assert.deepEqual(parseCsv('5" film,b'), [['5" film', 'b']]);
});

test('malformed CSV is rejected with the line', () => {
  assert.throws(
    () => parseCsv('a,b\n1,"open\n2,3\n'),
    (e: unknown) => e instanceof AppError && e.code === 'bad_input' && /line 2/.test(e.message),
  );
  assert.throws(() => parseCsv('a,"b"x\n'), /unexpected character after closing quote/);
  assert.throws(() => parseCsvRecords('a,b\n1,2,3\n'), /data row 1 has 3 fields, the header has 2/);
  assert.throws(() => parseCsvRecords('a,a\n1,2\n'), /appears twice/);
});

test('records are keyed by header name', () => {
  const { columns, records } = parseCsvRecords('path,label\n"a,1.png",covid\n\nb.png,normal\n');
  assert.deepEqual(columns, ['path', 'label']);
  assert.deepEqual(records, [
    { path: 'a,1.png', label: 'covid' },
    { path: 'b.png', label: 'normal' },
  ]);
});

test('the shared MANIFEST.csv parses: every row has the 12 columns', { skip: sharedDataMissing() }, () => {
  const text = readFileSync(sharedManifest, 'utf8');
  const { columns, records } = parseCsvRecords(text);
  assert.equal(columns.length, 12);
  assert.equal(columns[0], 'path');
  assert.ok(records.length >= 2400, 'records.length >= 2400');
  // Notes hold commas inside quotes; the width check above would have failed otherwise.
  assert.ok(
    records.some((r) => r['notes']!.includes(',')),
    "records.some((r) => r['notes']!.includes(','))",
  );
  assert.ok(
    records.every((r) => ['covid', 'normal', 'na'].includes(r['label']!)),
    "records.every((r) => ['covid', 'normal', 'na'].includes(r['label']!))",
  );
});
