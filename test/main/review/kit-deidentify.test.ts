// Reading kits are de-identified (PS3.15 Annex E Basic Profile, main/review/kit-deidentify.ts): the
// whole zip of a kit made from real DICOM files through the app's handler table holds none of the
// sources' patient names, ids, UIDs, accession numbers, dates or file names; images that may show
// burned-in text are refused, naming the image, unless the owner includes them (audited, in the kit).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import { threadTransport } from '../../../main/app/jobs.ts';
import { createServices, type Services } from '../../../main/app/services.ts';
import type { Envelope, Output } from '../../../main/contract/types.ts';
import { readDicomHeader } from '../../../main/dicom/index.ts';
import { dispatch, type HandlerTable } from '../../../main/ipc/dispatch.ts';
import { createHandlers } from '../../../main/ipc/handlers.ts';
import { burnedInRisk, type KitImageSource, kitImageSource } from '../../../main/review/index.ts';
import { repoRoot, requireSharedData } from '../../helpers/paths.ts';

const ownerPassphrase = 'deid owner passphrase';
function unwrap<T>(envelope: Envelope<unknown>): T {
  assert.ok(envelope.ok, `call failed: ${envelope.ok ? '' : JSON.stringify(envelope.error)}`);
  return envelope.value as T;
}

const source = (over: Partial<KitImageSource>): KitImageSource => ({
  name: 'image',
  burnedInAnnotation: null,
  modality: 'CR',
  sopClassUid: '1.2.840.10008.5.1.4.1.1.1',
  imageType: null,
  identifiers: [],
  ...over,
});

describe('burned-in text', () => {
  test('YES is refused; a secondary capture passes only with an explicit NO', () => {
    assert.match(burnedInRisk(source({ burnedInAnnotation: 'YES' })) ?? '', /Burned In Annotation = YES/);
    assert.equal(burnedInRisk(source({ burnedInAnnotation: 'NO' })), null);
    assert.equal(burnedInRisk(source({})), null, 'a CR without the attribute');
    assert.match(burnedInRisk(source({ modality: 'SC' })) ?? '', /secondary capture/);
    assert.match(burnedInRisk(source({ modality: 'OT' })) ?? '', /modality OT/);
    assert.match(
      burnedInRisk(source({ modality: 'DX', sopClassUid: '1.2.840.10008.5.1.4.1.1.7.2' })) ?? '',
      /Secondary Capture/,
    );
    assert.equal(burnedInRisk(source({ modality: 'SC', burnedInAnnotation: 'NO' })), null);
  });
});

describe('kit de-identification over IPC with real DICOM files', () => {
  const dicomDir = join(requireSharedData(), 'dicom');
  const files = {
    chest: join(dicomDir, 'fo-dicom', 'CR-MONO1-10-chest'),
    ct: join(dicomDir, 'dicom-test-files', 'CT_small.dcm'),
    rf: join(dicomDir, 'orthanc-tests', 'KarstenHilbertRF.dcm'),
    capture: join(dicomDir, 'dicom-test-files', 'SC_rgb.dcm'),
  };
  const folder = mkdtempSync(join(tmpdir(), 'r2c-kit-deid-'));
  let app: { services: Services; handlers: HandlerTable };
  const call = (channel: string, payload: unknown) =>
    dispatch(app.handlers, channel, payload, { emit: () => {} });
  const ids = new Map<string, number>();

  before(async () => {
    const services = createServices({
      dataDir: folder,
      modelsDir: join(repoRoot, 'models', 'shipped'),
      workerTransport: threadTransport,
      maxWorkers: 1,
    });
    app = { services, handlers: createHandlers(services) };
    for (const [key, file] of Object.entries(files)) {
      assert.ok(existsSync(file), `${file} in the shared data`);
      await services.library.importPaths([file], { mode: 'copy' });
      const instance = services.library
        .listInstances({ limit: 100 })
        .find((i) => !(ids as Map<string, number>).has(key) && ![...ids.values()].includes(i.id));
      ids.set(key, instance!.id);
    }
  });
  after(async () => {
    await app.services.close();
    rmSync(folder, { recursive: true, force: true });
  });

  test('the source headers give the identifiers to look for', () => {
    const detail = app.services.library.getInstance(ids.get('ct')!);
    const found = kitImageSource({ name: 'ct', ...detail });
    const header = readDicomHeader(readFileSync(files.ct));
    for (const value of [
      header.patientName!,
      header.patientId!,
      header.studyInstanceUid,
      header.sopInstanceUid,
      header.studyDate!,
    ])
      assert.ok(found.identifiers.includes(value), `${value} is looked for`);
    assert.ok(found.identifiers.includes('CompressedSamples'), 'each component of a person name');
    assert.ok(found.identifiers.includes('CT_small.dcm'), 'the source file name');
  });

  test('a kit holds no identifying value of its sources; burned-in risks refused unless included', async () => {
    const instanceIds = ['chest', 'ct', 'rf', 'capture'].map((k) => ids.get(k)!);
    const study = unwrap<Output<'reviewCreateStudy'>>(
      await call('reviewCreateStudy', {
        name: 'De-identified kit',
        instanceIds,
        passes: 1,
        ownerPassphrase,
        readers: ['Dr Deid'],
      }),
    );
    const out = join(folder, 'kit', 'deid.r2ckit.zip');
    const refused = await call('reviewExportKit', {
      jobId: 'kit-deid-0001',
      studyId: study.id,
      ownerPassphrase,
      out,
    });
    assert.ok(!refused.ok, 'the secondary capture is refused');
    assert.equal(refused.error.code, 'bad_input');
    assert.match(
      refused.error.message,
      new RegExp(`library image ${ids.get('capture')} \\(OT\\): modality OT`),
    );
    assert.ok(!existsSync(out), 'nothing written');

    const kit = unwrap<Output<'reviewExportKit'>>(
      await call('reviewExportKit', {
        jobId: 'kit-deid-0002',
        studyId: study.id,
        ownerPassphrase,
        out,
        includeBurnedIn: [String(ids.get('capture'))],
      }),
    );
    assert.equal(kit.images, 8);
    const entries = unzipSync(readFileSync(out));
    const kitJson = JSON.parse(Buffer.from(entries['kit.json']!).toString('utf8'));
    assert.equal(kitJson.deidentification.identifiersChecked, true);
    assert.deepEqual(
      kitJson.deidentification.burnedInIncluded.map((b: { image: string }) => b.image),
      ['img-0004'],
      'the included image is named in the kit',
    );
    const manifest = JSON.parse(Buffer.from(entries['manifest.json']!).toString('utf8'));
    assert.deepEqual(manifest.deidentification.burnedInIncluded, ['img-0004']);
    const audit = app.services.review.auditTrail(study.id, { ownerPassphrase });
    const exported = audit.find((e) => e.action === 'kit_exported')!;
    assert.deepEqual(
      (exported.details['burnedInIncluded'] as { imageId: string }[]).map((b) => b.imageId),
      [String(ids.get('capture'))],
      'the owner’s inclusion is audited',
    );

    // Scan every entry (and the zip itself) for every identifying value of the four sources.
    const needles = new Set<string>();
    for (const [key, file] of Object.entries(files)) {
      const h = readDicomHeader(readFileSync(file));
      for (const v of [
        h.patientName,
        ...(h.patientName?.split('^') ?? []),
        h.patientId,
        h.patientBirthDate,
        h.studyInstanceUid,
        h.seriesInstanceUid,
        h.sopInstanceUid,
        h.accessionNumber,
        h.studyDate,
        h.studyDescription,
        h.seriesDescription,
        h.referringPhysicianName,
        file.split('/').pop(),
        String(ids.get(key)).length > 3 ? String(ids.get(key)) : undefined,
      ])
        if (v && v.trim().length >= 4) needles.add(v.trim());
    }
    assert.ok(needles.size >= 20, `enough values to look for (${needles.size})`);
    // Control: the same scan finds them in the source files.
    for (const file of Object.values(files))
      assert.ok(
        [...needles].some((n) => readFileSync(file).includes(Buffer.from(n, 'latin1'))),
        `the scan finds identifiers in ${file}`,
      );
    const blobs: [string, Buffer][] = [
      ['the zip', readFileSync(out)],
      ...Object.entries(entries).map(([name, bytes]) => [name, Buffer.from(bytes)] as [string, Buffer]),
    ];
    for (const [name, bytes] of blobs)
      for (const needle of needles)
        assert.ok(
          !bytes.includes(Buffer.from(needle, 'utf8')) && !bytes.includes(Buffer.from(needle, 'latin1')),
          `${name} holds a source identifier (${needle.length} characters)`,
        );
  });

  test('a study name that carries a patient name is caught before the kit is written', async () => {
    const name = readDicomHeader(readFileSync(files.ct)).patientName!;
    const study = unwrap<Output<'reviewCreateStudy'>>(
      await call('reviewCreateStudy', {
        name: `Cases of ${name}`,
        instanceIds: [ids.get('ct')!],
        passes: 1,
        ownerPassphrase,
        readers: ['Dr Leak'],
      }),
    );
    const out = join(folder, 'kit', 'leak.r2ckit.zip');
    const refused = await call('reviewExportKit', {
      jobId: 'kit-deid-0003',
      studyId: study.id,
      ownerPassphrase,
      out,
    });
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'integrity');
    assert.match(refused.error.message, /kit\.json would carry identifying data .* library image/);
    assert.ok(!refused.error.message.includes(name), 'the message does not repeat the value');
    assert.ok(!existsSync(out));
  });
});
