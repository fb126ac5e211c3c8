// r2c pacs send-study-sr against a real Orthanc: an open reader study is refused (nothing sent); a
// closed one sends one SR per image the PACS holds, into that image's study, read back and checked
// (content, dsr2xml, dciodvfy, no reader names); an image from elsewhere is skipped; sending again is
// 'already-stored'; the original is never modified or resent.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { readDicomHeader } from '../../../main/dicom/index.ts';
import { openLibrary } from '../../../main/library/index.ts';
import { createPacsService, memorySecretStore } from '../../../main/pacs/index.ts';
import { openReviewStore } from '../../../main/review/index.ts';
import { sharedDataDir, tempDir } from '../library/fixtures.ts';
import { readAll } from '../review/reading.ts';
import { type OrthancServer, orthancMissing, startOrthanc } from './orthanc.ts';

const r2c = fileURLToPath(new URL('../../../bin/r2c.js', import.meta.url));
const chest = join(sharedDataDir, 'dicom', 'dwv', 'gdcm-CR-MONO1-10-chest.dcm');
const dcmodify = spawnSync('dcmodify', ['--version']).status === 0;
const missing = orthancMissing() ?? (dcmodify ? undefined : "dcmtk's dcmodify is not installed");
const SR_CLASS = '1.2.840.10008.5.1.4.1.1.88.33';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const hasTool = (tool: string) => spawnSync(tool, ['--version']).error === undefined;

/** A copy of the shared chest CR with new Study/Series/SOP Instance UIDs (the shared file is untouched). */
function makeImage(file: string, patientId: string) {
  copyFileSync(chest, file);
  chmodSync(file, 0o644);
  for (const args of [
    ['-gst', '-gse', '-gin'],
    ['-i', `PatientID=${patientId}`],
  ]) {
    const result = spawnSync('dcmodify', ['-nb', ...args, file], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  }
  return readDicomHeader(new Uint8Array(readFileSync(file)));
}

describe('r2c pacs send-study-sr against a real Orthanc', { skip: missing }, () => {
  let orthanc: OrthancServer;
  const work = tempDir('pacs-study-sr');
  before(async () => {
    orthanc = await startOrthanc();
  });
  after(async () => {
    await orthanc?.stop();
    work.remove();
  });

  test('open study refused; closed study: one SR per PACS image, read back and checked; sent once', async () => {
    const images = join(work.path, 'images');
    mkdirSync(images, { recursive: true });
    const onPacs = makeImage(join(images, 'on-pacs.dcm'), 'RSSR1');
    const elsewhere = makeImage(join(images, 'elsewhere.dcm'), 'RSSR2');
    const originalBytes = new Uint8Array(readFileSync(join(images, 'on-pacs.dcm')));
    await orthanc.upload(originalBytes);

    const dataDir = join(work.path, 'data');
    const library = openLibrary({ dataDir });
    const imported = await library.importPaths([join(images, 'on-pacs.dcm'), join(images, 'elsewhere.dcm')], {
      mode: 'copy',
    });
    assert.equal(imported.added, 2);
    const idOf = new Map(
      library
        .listInstances({ limit: 10 })
        .map((i) => [library.getInstance(i.id).sopInstanceUid, String(i.id)]),
    );
    await library.close();
    const review = openReviewStore({ dataDir });
    const study = review.createStudy({
      name: 'PACS chest reading',
      images: [{ id: idOf.get(onPacs.sopInstanceUid)! }, { id: idOf.get(elsewhere.sopInstanceUid)! }],
      variants: [
        { id: 'original', kind: 'original', label: 'Original' },
        { id: 'gan-p1', kind: 'restored', modelId: 'r2c-gan', passes: 1, label: 'R2C-GAN 1.0, 1 pass' },
      ],
      readers: ['Alice Readerton', 'Bob Viewerson'],
      seed: 11,
    });
    const [alice, bob] = study.readerProgress;
    readAll(review, study.id, alice!.id, {
      original: 2,
      restored: 4,
      prefer: 'restored',
      restoredFindings: 'yes',
    });
    readAll(review, study.id, bob!.id, {
      original: 3,
      restored: 5,
      prefer: 'restored',
      restoredFindings: 'yes',
    });
    review.close();

    const config = join(work.path, 'connections.json');
    writeFileSync(
      config,
      JSON.stringify({
        version: 1,
        connections: [
          {
            id: 'orthanc',
            name: 'Test Orthanc',
            dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user },
          },
        ],
      }),
    );
    const env = { ...process.env, R2C_PACS_SECRET_ORTHANC: orthanc.password };
    const send = () =>
      spawnSync(
        process.execPath,
        [
          r2c,
          'pacs',
          'send-study-sr',
          'orthanc',
          '--study',
          study.id,
          '--library',
          dataDir,
          '--config',
          config,
          '--json',
        ],
        { encoding: 'utf8', env },
      );
    const instancesOf = async (studyUid: string) =>
      (await (await orthanc.rest(`/dicom-web/studies/${studyUid}/instances`)).json()) as Record<
        string,
        { Value: string[] }
      >[];

    const refused = send();
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /still open/);
    assert.equal((await instancesOf(onPacs.studyInstanceUid)).length, 1, 'nothing sent for an open study');

    const closing = openReviewStore({ dataDir });
    closing.closeStudy(study.id);
    closing.close();
    const first = send();
    assert.equal(first.status, 0, first.stderr);
    const items = first.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { imageId: string; status: string; sopInstanceUid?: string });
    const byImage = new Map(items.map((i) => [i.imageId, i]));
    assert.equal(byImage.get(idOf.get(onPacs.sopInstanceUid)!)?.status, 'sent');
    assert.equal(byImage.get(idOf.get(elsewhere.sopInstanceUid)!)?.status, 'not-on-pacs');
    const srUid = byImage.get(idOf.get(onPacs.sopInstanceUid)!)!.sopInstanceUid!;

    const held = await instancesOf(onPacs.studyInstanceUid);
    assert.deepEqual(held.map((i) => i['00080016']!.Value[0]).sort(), [onPacs.sopClassUid, SR_CLASS].sort());
    const sr = held.find((i) => i['00080016']!.Value[0] === SR_CLASS)!;
    assert.equal(sr['00080018']!.Value[0], srUid);

    // Read it back from Orthanc and check it.
    const pacs = createPacsService({
      dataDir: join(work.path, 'reader'),
      secrets: memorySecretStore({ orthanc: orthanc.password }),
    });
    await pacs.saveConnection({
      id: 'orthanc',
      name: 'Orthanc',
      dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user },
    });
    const client = pacs.client('orthanc');
    try {
      const back = await client.dicomweb!.retrieveInstance({
        studyInstanceUid: onPacs.studyInstanceUid,
        seriesInstanceUid: sr['0020000E']!.Value[0]!,
        sopInstanceUid: srUid,
        sopClassUid: SR_CLASS,
      });
      const header = readDicomHeader(back);
      assert.equal(header.studyInstanceUid, onPacs.studyInstanceUid, "in the image's own study");
      assert.equal(header.patientId, 'RSSR1');
      const text = Buffer.from(back).toString('latin1');
      for (const name of ['Alice', 'Readerton', 'Bob', 'Viewerson'])
        assert.ok(!text.includes(name), `no reader name in the SR (${name})`);
      const file = join(work.path, 'back-sr.dcm');
      writeFileSync(file, back);
      if (hasTool('dsr2xml')) {
        const xml = spawnSync('dsr2xml', [file], { encoding: 'utf8' });
        assert.equal(xml.status, 0, xml.stderr);
        assert.match(xml.stdout, /Reader study result/);
        assert.match(xml.stdout, /PACS chest reading/);
        assert.match(xml.stdout, /Number of readers[\s\S]*?<value>2<\/value>/);
        assert.match(xml.stdout, /Mean score: Overall diagnostic image quality[\s\S]*?<value>2\.5<\/value>/);
        assert.match(xml.stdout, /Mean score: Overall diagnostic image quality[\s\S]*?<value>4\.5<\/value>/);
        assert.match(xml.stdout, new RegExp(onPacs.sopInstanceUid.replace(/\./g, '\\.')));
      }
      if (hasTool('dciodvfy')) {
        const check = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
        const errors = `${check.stdout}${check.stderr}`.split('\n').filter((l) => /^Error/.test(l));
        assert.deepEqual(errors, [], 'dciodvfy finds no errors');
      }
      // The original on the PACS is as uploaded.
      const original = await client.dicomweb!.retrieveInstance({
        studyInstanceUid: onPacs.studyInstanceUid,
        seriesInstanceUid: onPacs.seriesInstanceUid,
        sopInstanceUid: onPacs.sopInstanceUid,
        sopClassUid: onPacs.sopClassUid,
      });
      assert.equal(sha256(original), sha256(originalBytes), 'the original is untouched');
    } finally {
      await client.close();
    }

    const again = send();
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /"status":"already-stored"/);
    assert.equal((await instancesOf(onPacs.studyInstanceUid)).length, 2, 'sent once, never twice');
    assert.equal(sha256(new Uint8Array(readFileSync(join(images, 'on-pacs.dcm')))), sha256(originalBytes));
  });
});
