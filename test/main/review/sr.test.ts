// The reader-study SR (main/review/sr.ts): per-image results of a closed study (mean scores,
// preferences, choices per variant; readers counted, never named), written as a Comprehensive SR in
// the read image's study that references its SOP Instance UID; dciodvfy and dsr2xml check it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readDicomHeader, readStructuredReport, type ReportItem } from '../../../main/dicom/index.ts';
import { openReviewStore } from '../../../main/review/index.ts';
import {
  closedStudyForReport,
  readerStudyImageResults,
  writeReaderStudyReport,
} from '../../../main/review/sr.ts';
import { AppError } from '../../../main/util/errors.ts';
import { sharedDataDir } from '../library/fixtures.ts';
import { tempDir } from './helpers.ts';
import { readAll } from './reading.ts';

const chest = join(sharedDataDir, 'dicom', 'dwv', 'gdcm-CR-MONO1-10-chest.dcm');
const hasTool = (tool: string) => spawnSync(tool, ['--version']).error === undefined;

/** Depth-first list of [concept, value] pairs of a report's content tree. */
function flatten(items: ReportItem[]): [string | null, string][] {
  return items.flatMap((i) => [[i.concept, i.value] as [string | null, string], ...flatten(i.children)]);
}

describe('reader-study SR', { skip: !existsSync(chest) && 'the shared chest CR is missing' }, () => {
  test('a closed study: per-variant results of each image, readers counted not named; open studies refused', () => {
    const dir = tempDir();
    const store = openReviewStore({ dataDir: dir.dir });
    try {
      const study = store.createStudy({
        name: 'Chest restoration reading',
        images: [{ id: '101' }, { id: '102' }],
        variants: [
          { id: 'original', kind: 'original', label: 'Original' },
          { id: 'gan-p1', kind: 'restored', modelId: 'r2c-gan', passes: 1, label: 'R2C-GAN 1.0, 1 pass' },
        ],
        readers: ['Alice Readerton', 'Bob Viewerson'],
        seed: 7,
      });
      const [alice, bob] = study.readerProgress;
      readAll(store, study.id, alice!.id, {
        original: 2,
        restored: 4,
        prefer: 'restored',
        restoredFindings: 'yes',
      });
      readAll(store, study.id, bob!.id, {
        original: 3,
        restored: 5,
        prefer: 'original',
        restoredFindings: 'no',
      });

      assert.throws(
        () => closedStudyForReport(store, study.id),
        (e: unknown) => e instanceof AppError && e.code === 'forbidden' && /still open/.test(e.message),
        'an open study is refused',
      );
      store.closeStudy(study.id);
      const { exported } = closedStudyForReport(store, study.id);
      const results = readerStudyImageResults(exported);
      assert.deepEqual(
        results.map((r) => [r.imageId, r.readers, r.cases]),
        [
          ['101', 2, 2],
          ['102', 2, 2],
        ],
      );
      const [original, restored] = results[0]!.variants;
      assert.equal(original!.variantId, 'original');
      assert.deepEqual(
        original!.scores.map((s) => [s.questionId, s.n, s.mean]),
        [['quality', 2, 2.5]],
      );
      assert.deepEqual(
        restored!.scores.map((s) => [s.questionId, s.n, s.mean]),
        [['quality', 2, 4.5]],
      );
      assert.deepEqual(
        [restored!.preferences[0]!.shown, restored!.preferences[0]!.chosen, original!.preferences[0]!.chosen],
        [2, 1, 1],
      );
      assert.deepEqual(restored!.choices[0]!.counts, [
        { option: 'yes', count: 1 },
        { option: 'no', count: 1 },
        { option: 'unsure', count: 0 },
      ]);

      const source = new Uint8Array(readFileSync(chest));
      const header = readDicomHeader(source);
      const written = writeReaderStudyReport(
        source,
        { id: study.id, name: exported.study.name },
        results[0]!,
      );
      assert.equal(written.studyInstanceUid, header.studyInstanceUid, "in the image's own study");
      const again = writeReaderStudyReport(source, { id: study.id, name: exported.study.name }, results[0]!);
      assert.equal(again.sopInstanceUid, written.sopInstanceUid, 'the same study and image: the same UID');
      const bytes = Buffer.from(written.bytes).toString('latin1');
      for (const name of ['Alice', 'Readerton', 'Bob', 'Viewerson', alice!.id, bob!.id])
        assert.ok(!bytes.includes(name), `the SR names no reader (${name})`);

      const report = readStructuredReport(written.bytes);
      assert.equal(report.title, 'Reader study result');
      const items = flatten(report.items);
      const value = (concept: string) => items.find(([c]) => c === concept)?.[1];
      assert.match(value('Number of readers') ?? '', /^2\b/);
      assert.match(value('Reader study') ?? '', /Chest restoration reading/);
      assert.ok(
        items.some(([c, v]) => c === 'Image read' && v.includes(header.sopInstanceUid)),
        "references the image's SOP Instance UID",
      );
      const means = items.filter(([c]) => c?.startsWith('Mean score')).map(([, v]) => v);
      assert.deepEqual(
        means.map((v) => Number.parseFloat(v)),
        [2.5, 4.5],
      );

      const file = join(dir.dir, 'reader-study-sr.dcm');
      writeFileSync(file, written.bytes);
      if (hasTool('dciodvfy')) {
        const check = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
        const errors = `${check.stdout}${check.stderr}`.split('\n').filter((l) => /^Error/.test(l));
        assert.deepEqual(errors, [], 'dciodvfy finds no errors');
      }
      if (hasTool('dsr2xml')) {
        const xml = spawnSync('dsr2xml', [file], { encoding: 'utf8' });
        assert.equal(xml.status, 0, xml.stderr);
        assert.match(xml.stdout, /Reader study result/);
        assert.match(xml.stdout, /R2C-GAN 1\.0, 1 pass/);
        assert.match(xml.stdout, /4\.5/);
        assert.match(xml.stdout, new RegExp(header.sopInstanceUid.replace(/\./g, '\\.')));
      }
    } finally {
      store.close();
      dir.remove();
    }
  });

  test('an image without a finished case is not reported', () => {
    const dir = tempDir();
    const store = openReviewStore({ dataDir: dir.dir });
    try {
      const study = store.createStudy({
        name: 'Unread',
        images: [{ id: '5' }],
        variants: [
          { id: 'original', kind: 'original', label: 'Original' },
          { id: 'gan-p1', kind: 'restored', modelId: 'r2c-gan', passes: 1, label: 'GAN' },
        ],
        readers: ['Someone'],
      });
      store.closeStudy(study.id);
      const results = readerStudyImageResults(closedStudyForReport(store, study.id).exported);
      assert.deepEqual(results, []);
      assert.throws(
        () =>
          writeReaderStudyReport(
            new Uint8Array(readFileSync(chest)),
            { id: study.id, name: 'Unread' },
            { imageId: '5', readers: 0, cases: 0, variants: [] },
          ),
        /no finished case/,
      );
    } finally {
      store.close();
      dir.remove();
    }
  });
});
