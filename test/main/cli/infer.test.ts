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
import { after, test } from 'node:test';
import dicomParser from 'dicom-parser';
import { SECONDARY_CAPTURE_SOP_CLASS, readDicomHeader } from '../../../main/dicom/index.ts';
import { openLibrary } from '../../../main/library/index.ts';
import { readGrayImage } from '../../../main/util/image-io.ts';
import { repoRoot, requireSharedData } from '../../helpers/paths.ts';
import { installTinyModel } from '../inference/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'r2c-cli-infer-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const modelsDir = join(dir, 'models');
const card = installTinyModel(modelsDir);
const data = requireSharedData();

function r2c(...args: string[]) {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/r2c.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, R2C_MODELS_DIR: modelsDir, R2C_DATA_DIR: join(dir, 'data') },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('classify --json: one object per input with model, provider, probabilities, label and timings', () => {
  const inputs = join(dir, 'inputs');
  mkdirSync(join(inputs, 'nested'), { recursive: true });
  copyFileSync(join(data, 'cxr/covid/cxrdb_COVID-2001.png'), join(inputs, 'a.png'));
  copyFileSync(join(data, 'cxr/normal/nih_00003908_000.png'), join(inputs, 'nested', 'b.png'));
  writeFileSync(join(inputs, 'broken.png'), 'this is not a PNG');
  const run = r2c('classify', '--json', inputs);
  assert.equal(run.code, 1, 'a failed input makes the exit code non-zero');
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.file),
    [join(inputs, 'a.png'), join(inputs, 'broken.png'), join(inputs, 'nested', 'b.png')],
  );
  const [good, broken] = lines;
  assert.deepEqual(good.model, { id: card.id, version: card.version, sha256: card.sha256 });
  assert.match(good.decision, /^(positive|negative|indeterminate)$/);
  assert.equal(good.threshold, card.threshold);
  assert.equal(good.intendedUse.accepted, true);
  assert.match(good.statement, /not a diagnosis/);
  assert.equal(good.provider, 'cpu');
  assert.ok(Math.abs(good.probabilities.normal + good.probabilities.covid - 1) < 1e-5);
  assert.equal(good.label, good.probabilities.covid > card.threshold ? 'covid' : 'normal');
  assert.ok(good.timings.totalMs > 0);
  assert.equal(broken.error.code, 'bad_input');
  assert.match(broken.error.message, /cannot decode image file .*broken\.png/);
  assert.ok(lines[2].probabilities, 'the file after the broken one is still processed');
});

test("restore writes restored images at the original's size and reports the output path", async () => {
  const out = join(dir, 'restored');
  const input = join(data, 'cxr/covid/cxrdb_COVID-2001.png');
  const run = r2c('restore', input, '--out', out, '--passes', '2', '--json');
  assert.equal(run.code, 0, run.stderr);
  const [line] = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(line.output, join(out, 'cxrdb_COVID-2001_restored.png'));
  assert.ok(existsSync(line.output));
  const restored = await readGrayImage(line.output);
  const original = await readGrayImage(input);
  assert.deepEqual([restored.width, restored.height], [original.width, original.height]);
  assert.deepEqual(line.outputSize, { width: original.width, height: original.height });
});

test('classify: a non-chest DICOM is refused naming the attribute; --override-intended-use classifies it and records it', () => {
  const mr = join(data, 'dicom/dicom-test-files/MR_small.dcm');
  const refused = r2c('classify', mr);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stdout,
    /^REFUSED .*MR_small\.dcm is outside the model's intended use: Modality is MR \(expected CR or DX\)/m,
  );
  const json = jsonLines(r2c('classify', mr, '--json').stdout)[0];
  assert.equal(json.error.code, 'unsupported');
  assert.deepEqual(
    json.refused.map((r: { attribute: string }) => r.attribute),
    ['Modality', 'Image appearance'],
  );
  const forced = r2c(
    'classify',
    mr,
    '--json',
    '--override-intended-use',
    '--override-reason',
    'phantom study',
  );
  assert.equal(forced.code, 0, forced.stderr);
  const line = jsonLines(forced.stdout)[0];
  assert.deepEqual(line.intendedUse.override, { by: 'CLI --override-intended-use', reason: 'phantom study' });
  assert.equal(line.intendedUse.accepted, false);
  assert.equal(r2c('classify', mr, '--override-reason', 'x').code, 2, 'a reason needs the override flag');
});

test('usage errors exit 2 with a reason', () => {
  assert.match(r2c('restore', 'x.png').stderr, /--out <dir> is required/);
  assert.equal(r2c('restore', 'x.png', '--out', dir, '--passes', '4').code, 2);
  assert.match(r2c('classify', join(dir, 'nothing-here')).stderr, /no such file or folder/);
  assert.match(
    r2c('classify', join(dir, 'inputs'), '--model', 'nope').stdout,
    /no model 'nope' is installed/,
  );
});

function jsonLines(stdout: string) {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

const hasDciodvfy = spawnSync('which', ['dciodvfy']).status === 0;

test('restore DICOM inputs: derived images + SR, valid for dciodvfy, re-importable; malformed files reported', async () => {
  const dicom = join(data, 'dicom');
  // An extension-less DICOM (JPEG 2000 chest) in a folder next to a file that is not DICOM.
  const folder = join(dir, 'dicom-folder');
  mkdirSync(folder, { recursive: true });
  copyFileSync(join(dicom, 'dicom-test-files/RG1_J2KI'), join(folder, 'RG1_J2KI'));
  writeFileSync(join(folder, 'NOTES'), 'not an image, not DICOM: skipped when scanning folders');
  const mono1 = join(dicom, 'dwv/gdcm-CR-MONO1-10-chest.dcm');
  const inputs = [
    folder,
    mono1,
    join(dicom, 'torchxrayvision'),
    join(dicom, 'covid-chest-imaging-database'),
    join(dicom, 'malformed'),
  ];
  const out = join(dir, 'restored-dicom');
  const run = r2c('restore', ...inputs, '--out', out, '--json');
  assert.equal(run.code, 1, `malformed inputs make the exit code non-zero: ${run.stderr}`);
  const lines = jsonLines(run.stdout);
  assert.ok(
    lines.every((l) => !l.file.endsWith('NOTES')),
    'a non-DICOM extension-less file in a folder is not an input',
  );
  // The malformed set has one file our parser tolerates (bad_sequence.dcm: a broken sequence outside
  // the image attributes); every other one must fail with a reason. Fake_MONOHR1 (a chest image
  // whose photometric interpretation was flipped, so it reads inverted) is refused by the input gate.
  const good = lines.filter((l) => !l.error && !l.file.includes('/malformed/'));
  const refused = lines.filter((l) => l.refused && !l.file.includes('/malformed/'));
  assert.deepEqual(
    refused.map((l) => basename(l.file)),
    ['Fake_MONOHR1.dcm'],
  );
  const failed = lines.filter((l) => l.error && !refused.includes(l));
  assert.equal(good.length, 4, `restored: ${good.map((l) => basename(l.file)).join(', ')}`);
  assert.ok(failed.length >= 14, `malformed files are reported (${failed.length})`);
  for (const f of failed) {
    assert.ok(f.file.includes('/malformed/'), `only malformed files fail: ${f.file}: ${f.error.message}`);
    assert.match(f.error.code, /^(bad_input|unsupported)$/, `${f.file}: ${f.error.code}`);
    assert.ok(f.error.message.startsWith(basename(f.file)), `the reason names the file: ${f.error.message}`);
  }

  for (const item of good) {
    assert.match(item.output, /_restored\.dcm$/, 'DICOM in, DICOM out by default');
    assert.match(item.report, /_classification\.dcm$/, 'the classification SR is reported');
    const source = readDicomHeader(new Uint8Array(readFileSync(item.file)));
    const bytes = new Uint8Array(readFileSync(item.output));
    const derived = readDicomHeader(bytes);
    assert.equal(derived.sopClassUid, SECONDARY_CAPTURE_SOP_CLASS, 'a Secondary Capture');
    assert.notEqual(derived.seriesInstanceUid, source.seriesInstanceUid, 'new series');
    assert.notEqual(derived.sopInstanceUid, source.sopInstanceUid, 'new instance');
    assert.equal(derived.studyInstanceUid, source.studyInstanceUid, 'same study');
    if (source.samplesPerPixel === 1) {
      assert.equal(derived.photometricInterpretation, source.photometricInterpretation, 'photometric kept');
      assert.equal(derived.bitsStored, source.bitsStored, 'bit depth kept');
    }
    const ds = dicomParser.parseDicom(bytes);
    assert.equal(ds.string('x00080008'), 'DERIVED\\SECONDARY', 'Image Type');
    assert.match(ds.string('x0008103e') ?? '', new RegExp(card.id), 'series description names the model');
    const ref = ds.elements['x00082112']?.items?.[0]?.dataSet;
    assert.equal(
      ref?.string('x00081155'),
      source.sopInstanceUid,
      'Source Image Sequence references the source',
    );
    assert.deepEqual([derived.rows, derived.columns], [source.rows, source.columns], "the original's matrix");
    assert.equal(ds.string('x00280301'), 'YES', 'Burned In Annotation: the AI marking');
    const sr = readDicomHeader(new Uint8Array(readFileSync(item.report)));
    assert.equal(sr.sopClassUid, '1.2.840.10008.5.1.4.1.1.88.33', 'Comprehensive SR');
    if (hasDciodvfy) {
      for (const file of [item.output, item.report]) {
        const v = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
        const errors = `${v.stdout}${v.stderr}`.split('\n').filter((l) => l.startsWith('Error'));
        assert.deepEqual(errors, [], `dciodvfy errors in ${basename(file)}`);
      }
    }
  }
  const monoOut = good.find((l) => l.file === mono1);
  assert.equal(
    readDicomHeader(new Uint8Array(readFileSync(monoOut.output))).photometricInterpretation,
    'MONOCHROME1',
    'MONOCHROME1 stays MONOCHROME1',
  );

  const library = openLibrary({ dataDir: join(dir, 'library') });
  try {
    const summary = await library.importPaths([out]);
    assert.deepEqual(summary.failed, [], 'every written file re-imports');
    const written = lines.filter((l) => !l.error).length;
    assert.equal(summary.added, 2 * written, 'derived images and SRs are imported');
  } finally {
    await library.close();
  }
});

test('restore --format: png for DICOM inputs; dicom for a PNG input fails that input with a reason', () => {
  const out = join(dir, 'formats');
  const png = join(data, 'cxr/covid/cxrdb_COVID-2001.png');
  const dcm = join(data, 'dicom/dwv/gdcm-CR-MONO1-10-chest.dcm');
  const asPng = jsonLines(r2c('restore', dcm, '--out', out, '--format', 'png', '--json').stdout);
  assert.match(asPng[0].output, /gdcm-CR-MONO1-10-chest_restored\.png$/);
  assert.equal(asPng[0].report, undefined, 'no SR without a DICOM output');
  const run = r2c('restore', png, dcm, '--out', out, '--format', 'dicom', '--json');
  assert.equal(run.code, 1);
  // Inputs are processed in sorted order: .../cxr/... before .../dicom/...
  const [pngIn, dicomOut] = jsonLines(run.stdout);
  assert.match(dicomOut.output, /_restored\.dcm$/);
  assert.equal(pngIn.error.code, 'unsupported');
  assert.match(pngIn.error.message, /--format dicom needs a DICOM input/);
  assert.equal(r2c('restore', png, '--out', out, '--format', 'jpeg').code, 2);
});

test('classify: an extension-less file given directly is read as DICOM when it has DICM at byte 128', () => {
  const run = r2c('classify', join(data, 'dicom/dicom-test-files/RG1_J2KI'), '--json');
  assert.equal(run.code, 0, run.stderr);
  const [line] = jsonLines(run.stdout);
  assert.ok(Math.abs(line.probabilities.normal + line.probabilities.covid - 1) < 1e-5, 'probabilities');
  const notDicom = join(dir, 'README');
  writeFileSync(notDicom, 'plain text');
  const bad = jsonLines(r2c('classify', notDicom, '--json').stdout)[0];
  assert.equal(bad.error.code, 'unsupported');
  assert.match(bad.error.message, /README: not a PNG, JPEG, TIFF or DICOM file/);
});

test('restore --tile-pixels: working images above the budget are restored in tiles', () => {
  const out = join(dir, 'tiled');
  const png = join(data, 'cxr/normal/nih_00003908_000.png');
  const run = r2c('restore', png, '--out', out, '--working-size', '192', '--tile-pixels', '16384', '--json');
  assert.equal(run.code, 0, run.stderr);
  const [line] = jsonLines(run.stdout);
  assert.ok(line.tiles > 1, `192x192 > 128x128 budget: ${line.tiles} tiles`);
  assert.equal(r2c('restore', png, '--out', out, '--tile-pixels', '10').code, 2, 'budget below 128x128');
});

test('multi-frame DICOM: the first frame is restored and the derived image references frame 1', () => {
  const source = join(data, 'dicom/dicom-test-files/emri_small.dcm');
  const out = join(dir, 'multiframe');
  // An MR is outside the model's intended use: the override lets this test reach the frame handling.
  const run = r2c('restore', source, '--out', out, '--json', '--override-intended-use');
  assert.equal(run.code, 0, run.stderr);
  const [line] = jsonLines(run.stdout);
  const bytes = new Uint8Array(readFileSync(line.output));
  const derived = readDicomHeader(bytes);
  assert.equal(derived.numberOfFrames, 1, 'one frame out');
  const ref = dicomParser.parseDicom(bytes).elements['x00082112']?.items?.[0]?.dataSet;
  assert.equal(ref?.string('x00081160'), '1', 'Referenced Frame Number is the first frame');
});
