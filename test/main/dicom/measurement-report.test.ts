// The viewer's measurements as a TID 1500 SR and as a GSPS: valid objects (dciodvfy, dcmtk's dsrdump),
// the values measured from calibrated pixel spacing, and read back as the same annotations.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  GSPS_SOP_CLASS,
  type ImageAnnotation,
  measure,
  readDicomHeader,
  readReportAnnotations,
  readStructuredReport,
  writeMeasurementReport,
  writePresentationState,
} from '../../../main/dicom/index.ts';
import { AppError } from '../../../main/util/errors.ts';
import { hasTool, readDicom, withTempDir } from './helpers.ts';

const source = new Uint8Array(readDicom('dwv/gdcm-CR-MONO1-10-chest.dcm'));
const header = readDicomHeader(source);
const annotations: ImageAnnotation[] = [
  {
    uid: 'a-length',
    frame: 0,
    tool: 'Length',
    points: [
      [10.5, 20.5],
      [40.5, 60.5],
    ],
    label: 'Heart width',
  },
  {
    uid: 'a-angle',
    frame: 0,
    tool: 'Angle',
    points: [
      [100, 100],
      [50, 100],
      [50, 50],
    ],
  },
  { uid: 'a-probe', frame: 0, tool: 'Probe', points: [[200.5, 210.5]] },
];
const spacing = { row: 0.5, column: 0.25 };

/** dciodvfy's "Error" lines for a written object (dicom3tools); [] when it is clean. */
function dciodvfyErrors(bytes: Uint8Array, dir: string): string[] {
  const file = join(dir, 'out.dcm');
  writeFileSync(file, bytes);
  const result = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
  return `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => /^Error/.test(line));
}

describe('measurement report (TID 1500 SR) and presentation state', () => {
  test('lengths use the pixel spacing (column for x, row for y); angles in degrees', () => {
    assert.deepEqual(measure(annotations[0]!, spacing), {
      value: Math.hypot(30 * 0.25, 40 * 0.5),
      unit: 'mm',
    });
    assert.deepEqual(measure(annotations[0]!, null), { value: 50, unit: 'pixels' });
    const angle = measure(annotations[1]!, null)!;
    assert.equal(angle.unit, 'deg');
    assert.ok(Math.abs(angle.value - 90) < 1e-9, `angle ${angle.value}`);
  });

  test('the SR is dciodvfy clean, dsrdump reads it, and the measurements read back', {
    skip: !hasTool('dciodvfy') && 'dciodvfy is not installed',
  }, () => {
    const written = writeMeasurementReport(source, annotations, spacing);
    withTempDir((dir) => {
      assert.deepEqual(dciodvfyErrors(written.bytes, dir), []);
      const dump = spawnSync('dsrdump', [join(dir, 'out.dcm')], { encoding: 'utf8' });
      assert.equal(dump.status, 0, dump.stderr);
      assert.match(dump.stdout, /Imaging Measurement Report/);
      assert.match(dump.stdout, /Length/);
    });
    const report = readStructuredReport(written.bytes);
    assert.equal(report.title, 'Imaging Measurement Report');
    assert.equal(report.template, '1500');
    const back = readReportAnnotations(written.bytes);
    // The probe carries no measurement: an SR leaves it out.
    assert.deepEqual(
      back.map((a) => [a.tool, a.points, a.label, a.sopInstanceUid, a.frame]),
      [
        ['Length', annotations[0]!.points, 'Heart width', header.sopInstanceUid, 0],
        ['Angle', annotations[1]!.points, 'Angle 2', header.sopInstanceUid, 0],
      ],
    );
    // sqrt(7.5² + 20²) = 21.36 mm, shown with its unit in the readable tree.
    assert.match(JSON.stringify(report.items), /"concept":"Length","value":"21\.36\d* mm"/);
  });

  test('the GSPS is dciodvfy clean and its graphics read back on the image', {
    skip: !hasTool('dciodvfy') && 'dciodvfy is not installed',
  }, () => {
    const written = writePresentationState(source, annotations, spacing, {
      window: { center: 500, width: 1000 },
    });
    assert.equal(written.sopClassUid, GSPS_SOP_CLASS);
    withTempDir((dir) => assert.deepEqual(dciodvfyErrors(written.bytes, dir), []));
    const back = readReportAnnotations(written.bytes);
    assert.deepEqual(
      back.map((a) => [a.tool, a.points, a.sopInstanceUid]),
      annotations.map((a) => [a.tool, a.points, header.sopInstanceUid]),
    );
    assert.match(back[0]!.label ?? '', /^Heart width 21\.4 mm$/);
  });

  test('bad annotations are refused by name', () => {
    assert.throws(
      () => writeMeasurementReport(source, [{ uid: 'x', frame: 0, tool: 'Length', points: [[1, 1]] }], null),
      (e: unknown) => e instanceof AppError && e.code === 'bad_input' && /annotation x/.test(e.message),
    );
    assert.throws(
      () => writeMeasurementReport(source, [annotations[2]!], null),
      (e: unknown) => e instanceof AppError && /no length or angle/.test(e.message),
    );
    assert.throws(
      () => writeMeasurementReport(source, [{ ...annotations[0]!, frame: 3 }], null),
      (e: unknown) => e instanceof AppError && /frame 4/.test(e.message),
    );
  });
});
