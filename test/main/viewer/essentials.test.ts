// The viewer's essentials through dispatch and the real handler table, on a real library on disk:
// overlay attributes from the file, frames of a multi-frame image, the study's series for the strip,
// annotations that survive closing the app, their export as SR and GSPS (dciodvfy clean) and how they
// show again once such a file is in the library, and SRs read as a tree.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { threadTransport } from '../../../main/app/jobs.ts';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { Envelope, Output } from '../../../main/contract/types.ts';
import { dispatch } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { newUid } from '../../helpers/dicom.ts';
import { requireSharedData } from '../../helpers/paths.ts';
import { multiFrameDicom, OVERLAY_PATIENT, overlayDicom } from './fixtures.ts';

const hasDciodvfy = spawnSync('sh', ['-c', 'command -v dciodvfy']).status === 0;

function unwrap<T>(envelope: Envelope<unknown>): T {
  assert.ok(envelope.ok, `call failed: ${envelope.ok ? '' : JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

describe('viewer essentials', () => {
  let dir: string;
  let services: Services;
  const open = () =>
    createServices({
      dataDir: join(dir, 'data'),
      modelsDir: join(dir, 'models'),
      workerTransport: threadTransport,
    });
  const call = async <T>(channel: string, payload: unknown) =>
    unwrap<T>(await dispatch(createHandlers(services), channel, payload, { emit: () => {} }));
  let image: number;
  let cine: number;
  const study = newUid();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'r2c-viewer-essentials-'));
    writeFileSync(join(dir, 'overlay.dcm'), overlayDicom(study).bytes);
    writeFileSync(join(dir, 'cine.dcm'), multiFrameDicom(5, study).bytes);
    services = open();
    await services.library.importPaths([join(dir, 'overlay.dcm'), join(dir, 'cine.dcm')]);
    const instances = services.library.listInstances({});
    image = instances.find((i) => i.numberOfFrames === 1)!.id;
    cine = instances.find((i) => i.numberOfFrames === 5)!.id;
  });
  after(async () => {
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the overlay carries the file’s patient, study and orientation attributes', async () => {
    const shown = await call<Output<'getViewerImage'>>('getViewerImage', { instanceId: image });
    assert.deepEqual(
      {
        name: shown.overlay?.patientName,
        id: shown.overlay?.patientId,
        sex: shown.overlay?.patientSex,
        birth: shown.overlay?.patientBirthDate,
        date: shown.overlay?.studyDate,
        time: shown.overlay?.studyTime,
        accession: shown.overlay?.accessionNumber,
      },
      {
        name: OVERLAY_PATIENT.name,
        id: OVERLAY_PATIENT.id,
        sex: OVERLAY_PATIENT.sex,
        birth: OVERLAY_PATIENT.birthDate,
        date: OVERLAY_PATIENT.studyDate,
        time: OVERLAY_PATIENT.studyTime,
        accession: OVERLAY_PATIENT.accession,
      },
    );
    assert.deepEqual(shown.overlay?.patientOrientation, ['L', 'F']);
    assert.equal(shown.overlay?.laterality, 'R');
    assert.equal(shown.overlay?.viewPosition, 'PA');
    assert.equal(shown.overlay?.seriesNumber, 3);
    assert.equal(shown.overlay?.instanceNumber, 7);
    assert.deepEqual([shown.calibration, shown.spacing], ['PixelSpacing', { row: 0.5, column: 0.25 }]);
  });

  test('each frame of a multi-frame image is its own pixels; a frame past the end is refused', async () => {
    const frames = await Promise.all(
      [0, 2, 4].map((frame) => call<Output<'getViewerImage'>>('getViewerImage', { instanceId: cine, frame })),
    );
    assert.deepEqual(
      frames.map((f) => [f.frame, f.frames, f.min]),
      [
        [0, 5, 500],
        [2, 5, 1500],
        [4, 5, 2500],
      ],
    );
    const past = await dispatch(
      createHandlers(services),
      'getViewerImage',
      { instanceId: cine, frame: 5 },
      {
        emit: () => {},
      },
    );
    assert.equal(past.ok, false);
    assert.match(past.ok ? '' : past.error.message, /has 5 frames; frame 6 does not exist/);
  });

  test('the study lists its series and instances for the strip', async () => {
    const view = await call<Output<'getViewerStudy'>>('getViewerStudy', { instanceId: image });
    assert.equal(view.kind, 'image');
    assert.deepEqual(
      view.series.map((s) => [s.seriesNumber, s.instances.map((i) => [i.id, i.frames, i.kind])]),
      [
        [3, [[image, 1, 'image']]],
        [4, [[cine, 5, 'image']]],
      ],
    );
  });

  const length = {
    uid: 'len-1',
    frame: 0,
    tool: 'Length',
    points: [
      [10.5, 10.5],
      [50.5, 40.5],
    ],
    label: 'Gap',
  };
  const angle = {
    uid: 'ang-1',
    frame: 0,
    tool: 'Angle',
    points: [
      [100, 100],
      [60, 100],
      [60, 60],
    ],
  };

  test('annotations persist in the library database across a restart', async () => {
    await call('saveAnnotations', { instanceId: image, annotations: [length, angle] });
    await call('saveAnnotations', {
      instanceId: cine,
      annotations: [{ ...length, uid: 'cine-1', frame: 3 }],
    });
    await services.close();
    services = open();
    const back = await call<Output<'listAnnotations'>>('listAnnotations', { instanceId: image });
    assert.deepEqual(back.stored, [length, angle]);
    const onCine = await call<Output<'listAnnotations'>>('listAnnotations', { instanceId: cine });
    assert.deepEqual(
      onCine.stored.map((a) => [a.uid, a.frame]),
      [['cine-1', 3]],
    );
    // Replacing keeps only what is sent (a deleted measurement is gone).
    await call('saveAnnotations', { instanceId: image, annotations: [length] });
    assert.deepEqual(
      (await call<Output<'listAnnotations'>>('listAnnotations', { instanceId: image })).stored,
      [length],
    );
    await call('saveAnnotations', { instanceId: image, annotations: [length, angle] });
    const bad = await dispatch(
      createHandlers(services),
      'saveAnnotations',
      { instanceId: cine, annotations: [{ ...length, uid: 'x', frame: 9 }] },
      { emit: () => {} },
    );
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.error.message, /frame 10 is not in the image/);
  });

  for (const format of ['sr', 'gsps'] as const) {
    test(`${format.toUpperCase()} export is dciodvfy clean and shows on the image once imported`, async () => {
      const exported = await call<Output<'exportAnnotations'>>('exportAnnotations', {
        instanceId: image,
        format,
        deidentify: false,
        window: { center: 2048, width: 4096 },
      });
      assert.match(
        exported.fileName,
        format === 'sr' ? /^measurements-sr-\d{8}-\d{6}\.dcm$/ : /^annotations-gsps-/,
      );
      const file = join(dir, `exported-${format}.dcm`);
      writeFileSync(file, exported.bytes);
      if (hasDciodvfy) {
        const result = spawnSync('dciodvfy', [file], { encoding: 'latin1' });
        const errors = `${result.stdout}\n${result.stderr}`.split('\n').filter((l) => /^Error/.test(l));
        assert.deepEqual(errors, [], 'dciodvfy errors');
      }
      const summary = await services.library.importPaths([file]);
      assert.equal(summary.added, 1, JSON.stringify(summary));
      const back = await call<Output<'listAnnotations'>>('listAnnotations', { instanceId: image });
      const fromThis = back.fromReports.find((r) => r.kind === (format === 'sr' ? 'report' : 'presentation'));
      assert.ok(fromThis, `the ${format} in the library places its annotations on the image`);
      assert.deepEqual(
        fromThis.annotations.map((a) => [a.tool, a.points]),
        [
          ['Length', length.points],
          ['Angle', angle.points],
        ],
      );
      if (format === 'sr') {
        const report = await call<Output<'getStructuredReport'>>('getStructuredReport', {
          instanceId: fromThis.instanceId,
        });
        assert.equal(report.title, 'Imaging Measurement Report');
        // 0.25 mm across, 0.5 mm down: 40 x 30 pixels is 10 mm x 15 mm.
        const lengthItem = report.items.find((i) => i.concept === 'Length');
        assert.equal(lengthItem?.value, `${Number(Math.hypot(10, 15).toPrecision(10))} mm`);
        const studyView = await call<Output<'getViewerStudy'>>('getViewerStudy', {
          instanceId: fromThis.instanceId,
        });
        assert.equal(studyView.kind, 'report');
      }
    });
  }

  test('a de-identified export carries no patient name, ID or accession', async () => {
    const exported = await call<Output<'exportAnnotations'>>('exportAnnotations', {
      instanceId: image,
      format: 'sr',
      deidentify: true,
    });
    const text = Buffer.from(exported.bytes).toString('utf8');
    for (const value of [OVERLAY_PATIENT.name, OVERLAY_PATIENT.id, OVERLAY_PATIENT.accession])
      assert.ok(!text.includes(value), `${value} is in the de-identified export`);
    assert.match(exported.fileName, /-anon-/);
  });

  test('a PNG import carries its file name as the study description', async () => {
    const png = join(
      requireSharedData(),
      'cxr',
      'normal',
      readdirSync(join(requireSharedData(), 'cxr', 'normal'))[0]!,
    );
    const summary = await services.library.importPaths([png]);
    assert.equal(summary.added, 1, JSON.stringify(summary));
    const studies = services.library.listStudies({});
    assert.ok(
      studies.some((s) => s.description === basename(png).slice(0, 64)),
      `no study described as ${basename(png)}: ${JSON.stringify(studies.map((s) => s.description))}`,
    );
  });

  test('an image is not a report', async () => {
    const result = await dispatch(
      createHandlers(services),
      'getStructuredReport',
      { instanceId: image },
      {
        emit: () => {},
      },
    );
    assert.equal(result.ok, false);
    assert.equal(result.ok ? '' : result.error.code, 'unsupported');
  });
});
