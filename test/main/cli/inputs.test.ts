// Every command takes the same inputs (the input module): a DICOM data set without the 128-byte
// preamble and File Meta Information, and TIFF images, go through restore, classify, import, train
// and eval; and what none of them takes is refused in the same words.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { zipSync } from 'fflate';
import { readDicomHeader } from '../../../main/dicom/index.ts';
import { openLibrary } from '../../../main/library/index.ts';
import { readGrayImage } from '../../../main/util/image-io.ts';
import { part10Bytes, tiffBytes, withoutFileMeta } from '../data/input/fixtures.ts';
import { repoRoot, requireSharedData } from '../../helpers/paths.ts';
import { installTinyModel } from '../inference/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'r2c-cli-inputs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const modelsDir = join(dir, 'models');
const card = installTinyModel(modelsDir);
const shared = requireSharedData();
const data = join(dir, 'data');
/** The fo-dicom chest radiograph without preamble or meta (copied to a temporary folder, not the repo). */
const rawChest = join(data, 'covid', 'CR-MONO1-10-chest');
const covidTiff = join(data, 'covid', 'chest.tiff');
/** A generated preamble-less DICOM of a normal chest PNG (explicit VR little endian). */
const rawNormal = join(data, 'normal', 'IM0001');
const normalTiff = join(data, 'normal', 'chest.tif');
const inputs = [rawChest, covidTiff, rawNormal, normalTiff];

before(async () => {
  mkdirSync(join(data, 'covid'), { recursive: true });
  mkdirSync(join(data, 'normal'), { recursive: true });
  copyFileSync(join(shared, 'dicom/fo-dicom/CR-MONO1-10-chest'), rawChest);
  writeFileSync(covidTiff, await tiffBytes(join(shared, 'cxr/covid/cxrdb_COVID-2001.png')));
  const normalPng = join(shared, 'cxr/normal/nih_00003908_000.png');
  writeFileSync(rawNormal, withoutFileMeta(await part10Bytes(new Uint8Array(readFileSync(normalPng)))));
  writeFileSync(normalTiff, await tiffBytes(normalPng));
  writeFileSync(join(data, 'normal', 'notes.txt'), 'not an image: skipped in folders');
});

function r2c(...args: string[]) {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/r2c.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, R2C_MODELS_DIR: modelsDir, R2C_DATA_DIR: join(dir, 'app-data') },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function jsonLines(stdout: string) {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

const sorted = (files: string[]) => [...files].sort();

test('classify: preamble-less DICOM and TIFF, named or found in folders', () => {
  // The generated DICOM (IM0001) is a Secondary Capture with Modality OT, outside the model's intended
  // use: the override lets this test check the reading of every input.
  const named = r2c('classify', '--json', '--override-intended-use', ...inputs);
  assert.equal(named.code, 0, named.stderr);
  const lines = jsonLines(named.stdout);
  assert.deepEqual(
    lines.map((l) => l.file),
    sorted(inputs),
  );
  for (const line of lines) {
    assert.equal(line.error, undefined, `${basename(line.file)}: ${line.error?.message}`);
    assert.ok(Math.abs(line.probabilities.normal + line.probabilities.covid - 1) < 1e-5, line.file);
    assert.deepEqual(line.model, { id: card.id, version: card.version, sha256: card.sha256 });
  }
  const folder = r2c('classify', '--json', '--override-intended-use', data);
  assert.equal(folder.code, 0, folder.stderr);
  assert.deepEqual(
    jsonLines(folder.stdout).map((l) => l.file),
    sorted(inputs),
    'the same four images are found in the folder; notes.txt is not an input',
  );
});

test('restore: a preamble-less DICOM gives a derived DICOM + SR, a TIFF a PNG', async () => {
  const out = join(dir, 'restored');
  const run = r2c('restore', rawChest, covidTiff, '--out', out, '--json');
  assert.equal(run.code, 0, run.stderr);
  const [dicomLine, tiffLine] = jsonLines(run.stdout);
  assert.equal(dicomLine.file, rawChest);
  assert.equal(dicomLine.output, join(out, 'CR-MONO1-10-chest_restored.dcm'));
  assert.equal(dicomLine.report, join(out, 'CR-MONO1-10-chest_classification.dcm'));
  const source = readDicomHeader(new Uint8Array(readFileSync(rawChest)));
  const derived = readDicomHeader(new Uint8Array(readFileSync(dicomLine.output)));
  assert.equal(derived.studyInstanceUid, source.studyInstanceUid, 'the derived image is in the same study');
  assert.equal(derived.photometricInterpretation, 'MONOCHROME1', 'MONOCHROME1 stays MONOCHROME1');
  assert.equal(tiffLine.file, covidTiff);
  assert.equal(tiffLine.output, join(out, 'chest_restored.png'));
  // The restored output keeps the original's size (the model works at its working size).
  const restored = await readGrayImage(tiffLine.output);
  const original = await readGrayImage(covidTiff);
  assert.deepEqual([restored.width, restored.height], [original.width, original.height]);
});

test('import: the same files go into the library (TIFF as a Secondary Capture)', async () => {
  const library = openLibrary({ dataDir: join(dir, 'library') });
  try {
    const summary = await library.importPaths([data]);
    assert.deepEqual(
      summary.failed.map((f) => basename(f.path)),
      ['notes.txt'],
      'import reports what it cannot take',
    );
    assert.equal(summary.added, 4);
  } finally {
    await library.close();
  }
});

test('train: a couple of steps on preamble-less DICOM and TIFF images', () => {
  const config = join(dir, 'train.json');
  writeFileSync(
    config,
    JSON.stringify({
      data,
      outDir: join(dir, 'run'),
      size: 32,
      width: 4,
      steps: 2,
      logEvery: 1,
      checkpointEvery: 2,
      sampleEvery: 1000,
      threads: 1,
      validation: { fraction: 0 },
    }),
  );
  const run = r2c('train', '--config', config, '--json');
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.status, 'finished');
  assert.equal(result.step, 2);
  assert.equal(result.data.train + result.data.validation, 4, 'all four images are used');
  assert.ok(existsSync(result.files.model));
});

test('eval: the same images are evaluated (limit 4)', () => {
  const run = r2c('eval', '--data', data, '--model', card.id, '--limit', '4', '--json');
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.count, 4);
  assert.deepEqual(result.report.images.map((i: { id: string }) => i.id).sort(), [
    'covid/CR-MONO1-10-chest',
    'covid/chest.tiff',
    'normal/IM0001',
    'normal/chest.tif',
  ]);
  for (const image of result.report.images)
    assert.ok(Number.isFinite(image.scores.clean), `${image.id} was classified`);
});

test('what no command takes is refused in the same words by every command', async () => {
  const other = join(dir, 'unsupported');
  mkdirSync(other, { recursive: true });
  const text = join(other, 'README');
  const archive = join(other, 'exam.zip');
  writeFileSync(text, 'plain text');
  writeFileSync(archive, zipSync({ 'IM0001.dcm': await part10Bytes() }));
  const classified = jsonLines(r2c('classify', '--json', text, archive).stdout);
  const reasonFor = (file: string) => {
    const line = classified.find((l) => l.file === file);
    assert.equal(line?.error?.code, 'unsupported', file);
    assert.ok(line.error.message.startsWith(`${basename(file)}: `), line.error.message);
    return line.error.message.slice(basename(file).length + 2) as string;
  };
  const textReason = reasonFor(text);
  const zipReason = reasonFor(archive);
  assert.match(textReason, /^not a PNG, JPEG, TIFF or DICOM file/);
  assert.match(zipReason, /^a zip archive, not an image/);

  // Import takes zip archives (their entries) but refuses the text file with the same reason.
  const library = openLibrary({ dataDir: join(dir, 'library-unsupported') });
  try {
    const summary = await library.importPaths([text, archive]);
    assert.equal(summary.added, 1, 'the DICOM inside the zip');
    assert.deepEqual(summary.failed, [{ path: text, reason: textReason }]);
  } finally {
    await library.close();
  }
  // Train and eval: a manifest row naming it is refused with the same reason.
  const manifest = join(other, 'manifest.csv');
  writeFileSync(manifest, `path,label\n${rawChest},covid\nREADME,normal\n`);
  const evaluated = r2c('eval', '--data', manifest, '--model', card.id);
  assert.notEqual(evaluated.code, 0);
  assert.ok(evaluated.stderr.includes(`data row 2 is ${textReason}`), evaluated.stderr);
  const trained = r2c('train', '--data', manifest, '--out', join(dir, 'run-unsupported'), '--steps', '1');
  assert.notEqual(trained.code, 0);
  assert.ok(trained.stderr.includes(`data row 2 is ${textReason}`), trained.stderr);
});
