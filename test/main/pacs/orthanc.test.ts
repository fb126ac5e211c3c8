// The PACS service against a real Orthanc (DICOMweb plugin + DIMSE): echo, search, retrieve into the
// library (DICOMweb, C-GET, C-MOVE), resume, sending SC + SR back and reading them again, and the
// failures a user meets (wrong password, no server, server dying mid-transfer).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  decodeFrame,
  readDicomHeader,
  saveDicom,
  toModelInput,
  writeClassificationReport,
  writeDerivedImage,
} from '../../../main/dicom/index.ts';
import { type Library, openLibrary } from '../../../main/library/index.ts';
import { createPacsService, memorySecretStore, type PacsService } from '../../../main/pacs/index.ts';
import { AppError } from '../../../main/util/errors.ts';
import { sharedDataDir, tempDir } from '../library/fixtures.ts';
import {
  freePort,
  makeTestCertificates,
  type OrthancServer,
  orthancMissing,
  startOrthanc,
} from './orthanc.ts';

const missing =
  orthancMissing() ?? (existsSync(join(sharedDataDir, 'dicom')) ? undefined : 'shared DICOM data is missing');
const dcmtk = spawnSync('echoscu', ['--version']).status === 0;

/** The shared DICOM files Orthanc accepts (not the malformed ones), with their headers. */
function sharedDicoms() {
  const root = join(sharedDataDir, 'dicom');
  const files: string[] = [];
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const full = join(entry.parentPath, entry.name);
    if (entry.isFile() && !full.includes('/malformed/')) files.push(full);
  }
  return files.sort();
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof AppError, `expected an AppError, got ${error}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('PACS against a real Orthanc', { skip: missing }, () => {
  let orthanc: OrthancServer;
  const work = tempDir('pacs');
  let uploaded: {
    path: string;
    sopInstanceUid: string;
    studyInstanceUid: string;
    modality: string;
    sha256: string;
  }[] = [];
  let library: Library;
  let pacs: PacsService;
  const secrets = memorySecretStore();

  before(async () => {
    orthanc = await startOrthanc();
    for (const path of sharedDicoms()) {
      const bytes = new Uint8Array(readFileSync(path));
      let header: ReturnType<typeof readDicomHeader>;
      try {
        header = readDicomHeader(bytes);
      } catch {
        continue;
      }
      if (!header.studyInstanceUid || !header.sopInstanceUid) continue;
      const response = await orthanc.rest('/instances', {
        method: 'POST',
        body: bytes,
        headers: { 'content-type': 'application/dicom' },
      });
      if (!response.ok) continue;
      uploaded.push({
        path,
        sopInstanceUid: header.sopInstanceUid,
        studyInstanceUid: header.studyInstanceUid,
        modality: header.modality ?? '',
        sha256: sha256(bytes),
      });
    }
    // The same instance may appear twice in the shared data; Orthanc keeps one.
    uploaded = [...new Map(uploaded.map((u) => [u.sopInstanceUid, u])).values()];
    library = openLibrary({ dataDir: join(work.path, 'library') });
    pacs = createPacsService({ dataDir: join(work.path, 'library'), library, secrets });
    await pacs.saveConnection(
      {
        id: 'orthanc',
        name: 'Test Orthanc',
        dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user, timeoutMs: 5000 },
        dimse: {
          host: '127.0.0.1',
          port: orthanc.dicomPort,
          calledAet: orthanc.aet,
          callingAet: orthanc.ourAet,
          retrieve: 'get',
          movePort: orthanc.ourPort,
          timeoutMs: 10000,
        },
      },
      orthanc.password,
    );
  });
  after(async () => {
    await library?.close();
    await orthanc?.stop();
    work.remove();
  });

  test('uploads the shared DICOM files (the test data for everything below)', () => {
    assert.ok(uploaded.length >= 20, `only ${uploaded.length} shared files were accepted by Orthanc`);
  });

  test('echo: QIDO-RS with the stored password, and C-ECHO', {
    skip: !dcmtk && 'dcmtk is not installed',
  }, async () => {
    assert.equal((await pacs.echo('orthanc', { protocol: 'dicomweb' })).protocol, 'dicomweb');
    assert.equal((await pacs.echo('orthanc', { protocol: 'dimse' })).protocol, 'dimse');
  });

  test('find: by patient id, accession, date range, modality and body part; QIDO-RS and C-FIND agree', async () => {
    const studies = new Set(uploaded.map((u) => u.studyInstanceUid));
    const all = await pacs.searchStudies('orthanc', { limit: 1000 });
    assert.deepEqual(new Set(all.map((s) => s.studyInstanceUid)), studies);

    const chest = uploaded.find((u) => u.path.includes('CR-MONO1-10-chest'));
    assert.ok(chest, 'the shared CR chest file is uploaded');
    const study = all.find((s) => s.studyInstanceUid === chest.studyInstanceUid)!;
    // Plain ASCII values (some shared files use other character sets, which QIDO matches differently).
    const withPatient = all.find(
      (s) => /^[A-Za-z0-9_.-]{2,}$/.test(s.patientId) && /^[A-Za-z][A-Za-z^ ]+$/.test(s.patientName),
    );
    assert.ok(withPatient, 'a study with a patient id and name');
    const byPatient = await pacs.searchStudies('orthanc', { patientId: withPatient.patientId });
    assert.ok(byPatient.some((s) => s.studyInstanceUid === withPatient.studyInstanceUid));
    assert.deepEqual([...new Set(byPatient.map((s) => s.patientId))], [withPatient.patientId]);
    const byName = await pacs.searchStudies('orthanc', { patientName: withPatient.patientName });
    assert.ok(byName.some((s) => s.studyInstanceUid === withPatient.studyInstanceUid));
    assert.ok(byName.length < all.length, 'the name narrows the search');
    if (study.studyDate) {
      const byDate = await pacs.searchStudies('orthanc', {
        dateFrom: study.studyDate,
        dateTo: study.studyDate,
        limit: 1000,
      });
      assert.ok(byDate.some((s) => s.studyInstanceUid === chest.studyInstanceUid));
      assert.ok(byDate.every((s) => s.studyDate === study.studyDate));
      const before = await pacs.searchStudies('orthanc', { dateTo: '19000101' });
      assert.ok(!before.some((s) => s.studyInstanceUid === chest.studyInstanceUid));
    }
    if (study.accessionNumber) {
      const byAccession = await pacs.searchStudies('orthanc', { accessionNumber: study.accessionNumber });
      assert.ok(byAccession.some((s) => s.studyInstanceUid === chest.studyInstanceUid));
    }
    const expectedCrDx = new Set(
      uploaded.filter((u) => u.modality === 'CR' || u.modality === 'DX').map((u) => u.studyInstanceUid),
    );
    const crDx = await pacs.searchStudies('orthanc', { modalities: ['CR', 'DX'], limit: 1000 });
    assert.deepEqual(new Set(crDx.map((s) => s.studyInstanceUid)), expectedCrDx);

    const series = await pacs.searchSeries('orthanc', chest.studyInstanceUid);
    assert.ok(series.length >= 1);
    const bodyPart = series.find((s) => s.bodyPart)?.bodyPart;
    if (bodyPart) {
      const byBodyPart = await pacs.searchStudies('orthanc', { bodyPart, modalities: ['CR'], limit: 1000 });
      assert.ok(byBodyPart.some((s) => s.studyInstanceUid === chest.studyInstanceUid));
    }
    if (dcmtk) {
      const dimse = pacs.client('orthanc', 'dimse');
      const viaFind = await dimse.searchStudies({ modalities: ['CR', 'DX'], limit: 1000, offset: 0 });
      assert.deepEqual(new Set(viaFind.map((s) => s.studyInstanceUid)), expectedCrDx);
      const found = viaFind.find((s) => s.studyInstanceUid === chest.studyInstanceUid)!;
      assert.equal(found.patientId, study.patientId);
      assert.equal(found.studyDate, study.studyDate);
    }
  });

  test('bad searches are refused with the field named', async () => {
    await rejectsWith(pacs.searchStudies('orthanc', { dateFrom: '2020-01-01' }), 'bad_input', /dateFrom/);
    await rejectsWith(
      pacs.searchStudies('orthanc', { dateFrom: '20200102', dateTo: '20200101' }),
      'bad_input',
      /after/,
    );
    await rejectsWith(pacs.searchStudies('nope', {}), 'not_found', /no PACS connection 'nope'/);
  });

  test('retrieve over DICOMweb: every instance in the library, byte for byte, with progress; nothing left staged', async () => {
    const target = uploaded.filter((u) => u.modality === 'CR').slice(0, 3);
    const studies = [...new Set(target.map((t) => t.studyInstanceUid))];
    const progress: number[] = [];
    const results = await pacs.retrieve(
      'orthanc',
      studies.map((s) => ({ studyInstanceUid: s })),
      {
        protocol: 'dicomweb',
        onProgress: (p) => progress.push(p.done),
      },
    );
    const expected = uploaded.filter((u) => studies.includes(u.studyInstanceUid));
    assert.equal(
      results.reduce((n, r) => n + r.instances, 0),
      expected.length,
    );
    assert.equal(
      results.reduce((n, r) => n + r.added, 0),
      expected.length,
    );
    assert.ok(progress.length >= expected.length);
    const inLibrary = new Map(
      library.listInstances({ limit: 10000 }).map((i) => {
        const detail = library.getInstance(i.id);
        return [detail.sopInstanceUid, detail];
      }),
    );
    for (const u of expected) {
      const detail = inLibrary.get(u.sopInstanceUid);
      assert.ok(detail, 'a retrieved instance is in the library');
      assert.equal(
        sha256(new Uint8Array(readFileSync(detail.filePath))),
        u.sha256,
        'retrieved byte for byte (transfer-syntax=*)',
      );
    }
    assert.equal(readdirSync(join(work.path, 'library', 'pacs', 'staging')).length, 0);
  });

  test('retrieve over C-GET and C-MOVE into other libraries', {
    skip: !dcmtk && 'dcmtk is not installed',
  }, async () => {
    const target = uploaded.find((u) => u.modality === 'DX')!;
    for (const retrieve of ['get', 'move'] as const) {
      const dir = join(work.path, `library-${retrieve}`);
      const lib = openLibrary({ dataDir: dir });
      try {
        const service = createPacsService({ dataDir: dir, library: lib, secrets });
        await service.saveConnection({
          id: 'orthanc',
          name: 'Test Orthanc (DIMSE)',
          prefer: 'dimse',
          dimse: {
            host: '127.0.0.1',
            port: orthanc.dicomPort,
            calledAet: orthanc.aet,
            callingAet: orthanc.ourAet,
            retrieve,
            movePort: orthanc.ourPort,
            timeoutMs: 10000,
          },
        });
        const [result] = await service.retrieve('orthanc', [{ studyInstanceUid: target.studyInstanceUid }]);
        const expected = uploaded.filter((u) => u.studyInstanceUid === target.studyInstanceUid);
        assert.equal(result!.added, expected.length, `${retrieve}: every instance of the study`);
        const sops = new Set(
          lib.listInstances({ limit: 1000 }).map((i) => lib.getInstance(i.id).sopInstanceUid),
        );
        for (const u of expected)
          assert.ok(sops.has(u.sopInstanceUid), `${retrieve}: instance in the library`);
      } finally {
        await lib.close();
      }
    }
  });

  test('cancel mid-retrieve: nothing imported; the next retrieve resumes from the staged instances', async () => {
    // The study with the most instances among the uploaded ones.
    const counts = new Map<string, number>();
    for (const u of uploaded) counts.set(u.studyInstanceUid, (counts.get(u.studyInstanceUid) ?? 0) + 1);
    const [study, count] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
    assert.ok(count >= 2, 'a study with several instances is uploaded');
    const dir = join(work.path, 'library-resume');
    const lib = openLibrary({ dataDir: dir });
    try {
      const service = createPacsService({ dataDir: dir, library: lib, secrets });
      await service.saveConnection(
        {
          id: 'orthanc',
          name: 'Orthanc',
          dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user },
        },
        orthanc.password,
      );
      const controller = new AbortController();
      await rejectsWith(
        service.retrieve('orthanc', [{ studyInstanceUid: study }], {
          signal: controller.signal,
          onProgress: (p) => {
            if (p.done >= 1) controller.abort();
          },
        }),
        'cancelled',
        /cancelled/,
      );
      assert.equal(lib.listInstances({ limit: 1000 }).length, 0, 'nothing half-imported');
      const [result] = await service.retrieve('orthanc', [{ studyInstanceUid: study }]);
      assert.ok(result!.resumed >= 1, 'instances staged before the cancel were kept');
      assert.equal(result!.added, count);
      assert.equal(lib.listInstances({ limit: 1000 }).length, count);
    } finally {
      await lib.close();
    }
  });

  test('send back SC + SR (STOW-RS and C-STORE), read them from Orthanc again: content and dciodvfy; idempotent; originals refused', async () => {
    const source = uploaded.find((u) => u.path.includes('CR-MONO1-10-chest'))!;
    const bytes = new Uint8Array(readFileSync(source.path));
    const header = readDicomHeader(bytes);
    const image = toModelInput(bytes, await decodeFrame(bytes, header, 0), header);
    const model = { name: 'R2C test model (r2c-test)', version: '0.0.1', sha256: 'a'.repeat(64) };
    const derived = await writeDerivedImage({ source: bytes, image, model, frameIndex: 0 });
    const report = writeClassificationReport(bytes, {
      probabilities: { normal: 0.25, 'COVID-19': 0.75 },
      model,
      frameIndex: 0,
    });
    const out = join(work.path, 'results');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(out, { recursive: true });
    const scPath = join(out, 'restored.dcm');
    const srPath = join(out, 'classification.dcm');
    await saveDicom(scPath, derived);
    await saveDicom(srPath, report);

    const items = await pacs.send('orthanc', [scPath, srPath, source.path], { protocol: 'dicomweb' });
    assert.deepEqual(
      items.map((i) => i.status),
      ['sent', 'sent', 'refused'],
    );
    assert.match(items[2]!.error!.message, /originals are never sent/);

    const client = pacs.client('orthanc', 'dicomweb');
    for (const written of [derived, report]) {
      const back = await client.dicomweb!.retrieveInstance({
        studyInstanceUid: written.studyInstanceUid,
        seriesInstanceUid: written.seriesInstanceUid,
        sopInstanceUid: written.sopInstanceUid,
        sopClassUid: written.sopClassUid,
      });
      assert.equal(sha256(back), sha256(written.bytes), 'Orthanc returns what was sent');
      assert.equal(written.studyInstanceUid, source.studyInstanceUid, 'results go into the original study');
      const file = join(out, `back-${written.sopInstanceUid}.dcm`);
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, back);
      const check = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
      if (check.error === undefined) {
        const errors = `${check.stdout}${check.stderr}`.split('\n').filter((l) => /^Error/.test(l));
        assert.deepEqual(errors, [], 'dciodvfy finds no errors');
      }
    }
    const xml = spawnSync('dsr2xml', [join(out, `back-${report.sopInstanceUid}.dcm`)], { encoding: 'utf8' });
    if (xml.error === undefined) {
      assert.match(xml.stdout, /COVID-19/);
      assert.match(xml.stdout, /0\.75/);
    }
    await client.close();

    const again = await pacs.send('orthanc', [scPath, srPath], { protocol: 'dicomweb' });
    assert.deepEqual(
      again.map((i) => i.status),
      ['already-stored', 'already-stored'],
      'not sent twice',
    );

    if (dcmtk) {
      const other = await writeDerivedImage({ source: bytes, image, model, frameIndex: 0 });
      const otherPath = join(out, 'restored-dimse.dcm');
      await saveDicom(otherPath, other);
      const [viaStore] = await pacs.send('orthanc', [otherPath], { protocol: 'dimse' });
      assert.equal(viaStore!.status, 'sent', viaStore!.error?.message);
      const found = await (
        await orthanc.rest(
          `/dicom-web/studies/${other.studyInstanceUid}/instances?SOPInstanceUID=${other.sopInstanceUid}`,
        )
      ).json();
      assert.equal((found as unknown[]).length, 1, 'the C-STORE arrived');
    }
  });

  test('a wrong password is a clear "forbidden" error that never shows the password', async () => {
    const dir = join(work.path, 'wrong');
    const service = createPacsService({ dataDir: dir, secrets: memorySecretStore() });
    await service.saveConnection(
      {
        id: 'orthanc',
        name: 'Orthanc',
        dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user },
      },
      'not-the-password',
    );
    await assert.rejects(service.searchStudies('orthanc', {}), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'forbidden');
      assert.match(error.message, /refused the credentials/);
      assert.doesNotMatch(error.message, /not-the-password/);
      return true;
    });
  });

  test('an unreachable server is a clear error (DICOMweb and DIMSE)', async () => {
    const port = await freePort();
    const dir = join(work.path, 'unreachable');
    const service = createPacsService({ dataDir: dir, secrets: memorySecretStore() });
    await service.saveConnection({
      id: 'gone',
      name: 'Gone',
      dicomweb: { baseUrl: `http://127.0.0.1:${port}/dicom-web` },
      dimse: { host: '127.0.0.1', port, calledAet: 'GONE', callingAet: 'R2C', timeoutMs: 2000 },
    });
    // The code is 'unavailable' (not 'not_found'); the message names the server and the cause.
    await rejectsWith(
      service.echo('gone', { protocol: 'dicomweb' }),
      'unavailable',
      new RegExp(`PACS 'Gone' \\(http://127\\.0\\.0\\.1:${port}\\) is unreachable.*connection refused`),
    );
    if (dcmtk)
      await rejectsWith(
        service.echo('gone', { protocol: 'dimse' }),
        'unavailable',
        new RegExp(`PACS 'Gone' \\(127\\.0\\.0\\.1:${port}\\) is unreachable.*connection refused`),
      );
  });

  test('a server that accepts but never answers: an "unavailable" timeout naming the server, no credentials', async () => {
    const { createServer } = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    const port = await freePort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    try {
      const service = createPacsService({
        dataDir: join(work.path, 'silent'),
        secrets: memorySecretStore({ silent: 'silent-secret-77' }),
      });
      await service.saveConnection({
        id: 'silent',
        name: 'Silent',
        dicomweb: {
          baseUrl: `http://127.0.0.1:${port}/dicom-web`,
          auth: 'basic',
          username: 'someone',
          timeoutMs: 1000,
        },
      });
      await assert.rejects(service.echo('silent'), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'unavailable', error.message);
        assert.match(error.message, new RegExp(`PACS 'Silent' \\(http://127\\.0\\.0\\.1:${port}\\)`));
        assert.match(error.message, /did not answer in time/);
        assert.doesNotMatch(error.message, /silent-secret-77|someone/);
        return true;
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('the server dies mid-transfer: a clear error, nothing imported; after its restart the retrieve resumes', async () => {
    const counts = new Map<string, number>();
    for (const u of uploaded) counts.set(u.studyInstanceUid, (counts.get(u.studyInstanceUid) ?? 0) + 1);
    const [study, count] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
    const dir = join(work.path, 'library-dies');
    const lib = openLibrary({ dataDir: dir });
    try {
      const service = createPacsService({ dataDir: dir, library: lib, secrets });
      await service.saveConnection(
        {
          id: 'orthanc',
          name: 'Orthanc',
          dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user, timeoutMs: 3000 },
        },
        orthanc.password,
      );
      let killed = false;
      await rejectsWith(
        service.retrieve('orthanc', [{ studyInstanceUid: study }], {
          onProgress: (p) => {
            if (p.done >= 1 && !killed) {
              killed = true;
              orthanc.kill('SIGKILL');
            }
          },
        }),
        'unavailable',
        /PACS 'Orthanc' \(http:\/\/127\.0\.0\.1:\d+\).*(unreachable|dropped|reset)/,
      );
      assert.ok(killed);
      assert.equal(lib.listInstances({ limit: 1000 }).length, 0, 'nothing half-imported');
      await orthanc.restart();
      const [result] = await service.retrieve('orthanc', [{ studyInstanceUid: study }]);
      assert.ok(result!.resumed >= 1);
      assert.equal(lib.listInstances({ limit: 1000 }).length, count);
    } finally {
      await lib.close();
    }
  });
});

describe('PACS over https with a custom CA', { skip: missing }, () => {
  const work = tempDir('pacs-tls');
  let orthanc: OrthancServer | undefined;
  let proxy: import('node:https').Server | undefined;
  after(async () => {
    proxy?.close();
    await orthanc?.stop();
    work.remove();
  });

  // The Debian Orthanc's own https (civetweb) resets connections under OpenSSL 3 here, so a TLS
  // front (as hospitals put before a PACS) forwards to Orthanc's loopback HTTP.
  test('trusted with the configured CA file; refused with a clear error without it', async (t) => {
    const certificates = makeTestCertificates(work.path);
    if (!certificates) return t.skip('openssl is not installed');
    orthanc = await startOrthanc();
    const { createServer } = await import('node:https');
    const { request } = await import('node:http');
    const target = new URL(orthanc.baseUrl);
    proxy = createServer(
      { cert: readFileSync(join(work.path, 'server.crt')), key: readFileSync(join(work.path, 'server.key')) },
      (req, res) => {
        const forward = request(
          {
            host: target.hostname,
            port: target.port,
            path: req.url,
            method: req.method,
            headers: req.headers,
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        req.pipe(forward);
      },
    );
    const port = await freePort();
    await new Promise<void>((resolve) => proxy!.listen(port, '127.0.0.1', resolve));
    const service = createPacsService({
      dataDir: join(work.path, 'data'),
      secrets: memorySecretStore({ tls: orthanc.password, plain: orthanc.password }),
    });
    const dicomweb = {
      baseUrl: `https://127.0.0.1:${port}/dicom-web`,
      auth: 'basic' as const,
      username: orthanc.user,
    };
    await service.saveConnection({
      id: 'tls',
      name: 'TLS',
      dicomweb: { ...dicomweb, caFile: certificates.caFile },
    });
    await service.saveConnection({ id: 'plain', name: 'No CA', dicomweb });
    assert.equal((await service.echo('tls')).protocol, 'dicomweb');
    await rejectsWith(
      service.echo('plain'),
      'unavailable',
      /PACS 'No CA' \(https:\/\/127\.0\.0\.1:\d+\).*TLS certificate is not trusted/,
    );
  });
});
