// `r2c info` and `r2c render`, run through the real command objects.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { infoCommand } from '../../../main/cli/commands/info.ts';
import { renderCommand } from '../../../main/cli/commands/render.ts';
import type { CliIo } from '../../../main/cli/command.ts';
import { decodeFrame, readDicomHeader, renderDisplay } from '../../../main/dicom/index.ts';
import { readGrayImage } from '../../../main/util/image-io.ts';
import { dicomPath, readDicom, withTempDirAsync } from './helpers.ts';

function capture(): CliIo & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (l) => lines.push(l),
    err: (l) => errors.push(l),
    isTty: false,
    signal: new AbortController().signal,
  };
}

describe('r2c info', () => {
  const file = dicomPath('fo-dicom/chrJapMulti.dcm');
  const header = readDicomHeader(readDicom('fo-dicom/chrJapMulti.dcm'));

  test('--json hides patient data and UIDs by default', async () => {
    const io = capture();
    assert.equal(await infoCommand.run([file, '--json'], io), 0);
    const summary = JSON.parse(io.lines[0]!);
    assert.equal(summary.modality, 'CR');
    assert.equal(summary.rows, 32);
    assert.equal(summary.patientName, undefined);
    assert.equal(summary.studyInstanceUid, undefined);
    assert.equal(summary.sopInstanceUid, undefined);
    assert.ok(!io.lines[0]!.includes(header.patientId!));
    assert.ok(!io.lines[0]!.includes(header.studyInstanceUid));
  });

  test('--show-phi shows them; text output says decodable and why not', async () => {
    const io = capture();
    assert.equal(await infoCommand.run([file, '--json', '--show-phi'], io), 0);
    assert.equal(JSON.parse(io.lines[0]!).patientName, header.patientName);
    const text = capture();
    await infoCommand.run([file], text);
    const all = text.lines.join('\n');
    assert.match(all, /decodable\s+no: no Pixel Data/);
    assert.match(all, /hidden; use --show-phi/);
    assert.ok(!all.includes(header.patientId!));
  });

  test('a malformed file exits 1 with the reason', async () => {
    const io = capture();
    const code = await infoCommand.run([dicomPath('malformed/dwv/dwv-test_no-number-rows.dcm')], io);
    assert.equal(code, 1);
    assert.match(io.errors[0]!, /Rows \(0028,0010\) is missing/);
  });
});

describe('r2c render', () => {
  test('writes the displayed 8-bit image (window option, frame option)', async () => {
    const relative = 'dicom-test-files/emri_small.dcm';
    await withTempDirAsync(async (dir) => {
      const out = join(dir, 'frame3.png');
      const io = capture();
      const code = await renderCommand.run(
        [dicomPath(relative), '--out', out, '--frame', '3', '--window', '200,300'],
        io,
      );
      assert.equal(code, 0);
      assert.match(io.lines[0]!, /64x64, frame 3\/10, window 200\/300/);
      const bytes = readDicom(relative);
      const header = readDicomHeader(bytes);
      const expected = renderDisplay(bytes, await decodeFrame(bytes, header, 2), header, {
        window: { center: 200, width: 300 },
      });
      const png = await readGrayImage(out);
      const pixels = Array.from(png.data, (v) => Math.round(v * 255));
      assert.deepEqual(pixels, Array.from(expected.data));
    });
  });

  test('usage errors', async () => {
    await assert.rejects(renderCommand.run([dicomPath('dicom-test-files/MR_small.dcm')], capture()), /--out/);
    await assert.rejects(
      renderCommand.run(
        [dicomPath('dicom-test-files/MR_small.dcm'), '--out', 'x.png', '--window', '40'],
        capture(),
      ),
      /center,width/,
    );
    await assert.rejects(
      renderCommand.run(
        [dicomPath('dicom-test-files/MR_small.dcm'), '--out', 'x.png', '--frame', '2'],
        capture(),
      ),
      /has 1 frame/,
    );
  });
});
