// r2c pacs watch against a real Orthanc: two nodes split the studies by a hash of the Study Instance
// UID; one is killed mid-run and restarted; every study's results (one SC + one SR per original)
// arrive exactly once. And, in-process, a crash between a store and its record is not a resend.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  decodeFrame,
  readDicomHeader,
  saveDicom,
  toModelInput,
  uidFromHash,
  writeClassificationReport,
  writeDerivedImage,
} from '../../../main/dicom/index.ts';
import { openLibrary } from '../../../main/library/index.ts';
import {
  createPacsService,
  memorySecretStore,
  openWatchQueue,
  type PacsClient,
  type ProcessImages,
  runWatch,
  shareOf,
  type WatchPoll,
} from '../../../main/pacs/index.ts';
import { sharedDataDir, tempDir } from '../library/fixtures.ts';
import { type OrthancServer, orthancMissing, startOrthanc } from './orthanc.ts';

const r2c = fileURLToPath(new URL('../../../bin/r2c.js', import.meta.url));
const chest = join(sharedDataDir, 'dicom', 'dwv', 'gdcm-CR-MONO1-10-chest.dcm');
const dcmodify = spawnSync('dcmodify', ['--version']).status === 0;
const dcmtk = spawnSync('getscu', ['--version']).status === 0;
const missing = orthancMissing() ?? (dcmodify ? undefined : "dcmtk's dcmodify is not installed");
const SR_CLASS = '1.2.840.10008.5.1.4.1.1.88.33';
const SC_CLASS = '1.2.840.10008.5.1.4.1.1.7';

/** N chest studies made from one shared CR file (copies with new UIDs; the original is untouched). */
function makeStudies(dir: string, count: number, prefix: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = join(dir, `${prefix}-${i}.dcm`);
    copyFileSync(chest, file);
    chmodSync(file, 0o644);
    // Study UIDs alternate between the two nodes' shares, so a split always has work for both (random
    // UIDs put all six on one node once in 32 runs).
    let n = 0;
    while (shareOf(uidFromHash(`${prefix}-${i}-${n}`), 2) !== (i % 2) + 1) n++;
    // Two runs: this dcmtk refuses -g* and -i in one call ("Tag not found").
    const edits = [
      ['-gse', '-gin'],
      [
        '-i',
        `StudyInstanceUID=${uidFromHash(`${prefix}-${i}-${n}`)}`,
        '-i',
        `PatientID=${prefix.toUpperCase()}${i}`,
        '-i',
        `StudyDate=202601${String(10 + i).padStart(2, '0')}`,
      ],
    ];
    for (const args of edits) {
      const result = spawnSync('dcmodify', ['-nb', ...args, file], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
    }
    files.push(file);
  }
  return files;
}

/**
 * One CR instance made from the shared chest file with new UIDs; `studyInstanceUid` given: a new
 * series of that study (an instance that arrives later).
 */
function makeInstance(
  file: string,
  fields: { patientId: string; studyDate: string; studyInstanceUid?: string },
): { studyInstanceUid: string; sopInstanceUid: string } {
  copyFileSync(chest, file);
  chmodSync(file, 0o644);
  const edits = [
    fields.studyInstanceUid ? ['-gse', '-gin'] : ['-gst', '-gse', '-gin'],
    [
      '-i',
      `PatientID=${fields.patientId}`,
      '-i',
      `StudyDate=${fields.studyDate}`,
      ...(fields.studyInstanceUid ? ['-i', `StudyInstanceUID=${fields.studyInstanceUid}`] : []),
    ],
  ];
  for (const args of edits) {
    const result = spawnSync('dcmodify', ['-nb', ...args, file], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  }
  const header = readDicomHeader(new Uint8Array(readFileSync(file)));
  return { studyInstanceUid: header.studyInstanceUid, sopInstanceUid: header.sopInstanceUid };
}

/** The real SC/SR writers on the decoded image (the model itself runs in the CLI test). */
const writeResults =
  (calls: string[][]): ProcessImages =>
  async (inputs, outDir) => {
    calls.push(inputs.map((f) => readDicomHeader(new Uint8Array(readFileSync(f))).sopInstanceUid));
    return Promise.all(
      inputs.map(async (file, i) => {
        const bytes = new Uint8Array(readFileSync(file));
        const header = readDicomHeader(bytes);
        const image = toModelInput(bytes, await decodeFrame(bytes, header, 0), header);
        const model = { name: 'pass-through (test)', version: '0', sha256: '0'.repeat(64) };
        const output = join(outDir, `${i}_restored.dcm`);
        const report = join(outDir, `${i}_classification.dcm`);
        await saveDicom(output, await writeDerivedImage({ source: bytes, image, model }));
        await saveDicom(
          report,
          writeClassificationReport(bytes, { probabilities: { normal: 0.5, 'COVID-19': 0.5 }, model }),
        );
        return { file, output, report };
      }),
    );
  };

/** SOP classes of the instances of each study, as Orthanc holds them. */
async function instancesByStudy(orthanc: OrthancServer): Promise<Map<string, string[]>> {
  const byStudy = new Map<string, string[]>();
  const studies = (await (await orthanc.rest('/dicom-web/studies?limit=10000')).json()) as Record<
    string,
    { Value: string[] }
  >[];
  for (const study of studies) {
    const uid = study['0020000D']!.Value[0]!;
    const instances = (await (await orthanc.rest(`/dicom-web/studies/${uid}/instances`)).json()) as Record<
      string,
      { Value: string[] }
    >[];
    byStudy.set(
      uid,
      instances.map((i) => i['00080016']!.Value[0]!),
    );
  }
  return byStudy;
}

describe('r2c pacs watch against a real Orthanc', { skip: missing }, () => {
  let orthanc: OrthancServer;
  const work = tempDir('pacs-watch');
  before(async () => {
    orthanc = await startOrthanc();
  });
  after(async () => {
    await orthanc?.stop();
    work.remove();
  });

  test('two nodes split the studies; one killed mid-run and restarted; nothing lost, nothing sent twice', async () => {
    const files = makeStudies(join(work.path, 'studies'), 6, 'watch');
    const originals = new Map<string, string>();
    for (const file of files) {
      const header = readDicomHeader(new Uint8Array(readFileSync(file)));
      originals.set(header.studyInstanceUid, header.sopInstanceUid);
      await orthanc.upload(readFileSync(file));
    }
    const shares = [...originals.keys()].map((uid) => shareOf(uid, 2));
    assert.ok(shares.includes(1) && shares.includes(2), 'both nodes have a share of these studies');

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
    const node = (k: number) => {
      const child = spawn(
        process.execPath,
        [
          r2c,
          'pacs',
          'watch',
          'orthanc',
          '--node',
          `${k}/2`,
          '--once',
          '--since',
          '20260101',
          '--config',
          config,
          '--library',
          join(work.path, `node${k}`),
          '--json',
        ],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.on('data', (d) => (stdout += d));
      const done = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      return { child, done, stderr: () => stderr, stdout: () => stdout };
    };
    const waitFor = (run: ReturnType<typeof node>, pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (pattern.test(run.stderr())) {
            clearInterval(timer);
            resolve();
          } else if (run.child.exitCode !== null) {
            clearInterval(timer);
            reject(new Error(`node exited before ${pattern}: ${run.stderr()}`));
          }
        }, 50);
      });

    const first = node(1);
    const second = node(2);
    // Node 1 dies right after its first study is processed (results recorded, maybe partly sent).
    await waitFor(first, /processed, \d+ results to send/);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    const secondExit = await second.done;
    assert.equal(secondExit.code, 0, second.stderr());
    // Node 1 restarts and finishes its share from its queue.
    const restarted = node(1);
    const restartedExit = await restarted.done;
    assert.equal(restartedExit.code, 0, restarted.stderr());
    const summary = JSON.parse(restarted.stdout().trim().split('\n').at(-1)!) as { queue: string };

    const held = await instancesByStudy(orthanc);
    for (const [study] of originals) {
      const classes = held.get(study) ?? [];
      assert.equal(
        classes.filter((c) => c === SR_CLASS).length,
        1,
        'exactly one classification SR per study',
      );
      assert.equal(
        classes.filter((c) => c.startsWith(SC_CLASS)).length,
        1,
        'exactly one restored SC per study',
      );
      assert.equal(classes.length, 3, 'the original, its SC and its SR; nothing else');
    }
    const queue = openWatchQueue(summary.queue);
    try {
      const counts = queue.counts();
      assert.equal(counts.done, shares.filter((s) => s === 1).length, 'node 1 did all of its share');
      assert.equal(counts.pendingResults, 0);
    } finally {
      queue.close();
    }
    // Each node imported its own share of originals into its library.
    for (const k of [1, 2]) {
      const library = openLibrary({ dataDir: join(work.path, `node${k}`) });
      try {
        const sops = new Set(
          library.listInstances({ limit: 1000 }).map((i) => library.getInstance(i.id).sopInstanceUid),
        );
        for (const [study, sop] of originals) assert.equal(sops.has(sop), shareOf(study, 2) === k);
      } finally {
        await library.close();
      }
    }
  });

  test('a crash between storing a result and recording it: the restart finds it on the PACS and does not send it again', async () => {
    const files = makeStudies(join(work.path, 'crash-studies'), 3, 'crash');
    const studies = new Set<string>();
    for (const file of files) {
      studies.add(readDicomHeader(new Uint8Array(readFileSync(file))).studyInstanceUid);
      await orthanc.upload(readFileSync(file));
    }
    // The real SC/SR writers on the decoded image (the model itself runs in the test above).
    const process: ProcessImages = async (inputs, outDir) =>
      Promise.all(
        inputs.map(async (file, i) => {
          const bytes = new Uint8Array(readFileSync(file));
          const header = readDicomHeader(bytes);
          const image = toModelInput(bytes, await decodeFrame(bytes, header, 0), header);
          const model = { name: 'pass-through (test)', version: '0', sha256: '0'.repeat(64) };
          const output = join(outDir, `${i}_restored.dcm`);
          const report = join(outDir, `${i}_classification.dcm`);
          await saveDicom(output, await writeDerivedImage({ source: bytes, image, model }));
          await saveDicom(
            report,
            writeClassificationReport(bytes, { probabilities: { normal: 0.5, 'COVID-19': 0.5 }, model }),
          );
          return { file, output, report };
        }),
      );
    const dataDir = join(work.path, 'crash-node');
    const library = openLibrary({ dataDir });
    const pacs = createPacsService({
      dataDir,
      library,
      secrets: memorySecretStore({ orthanc: orthanc.password }),
    });
    await pacs.saveConnection({
      id: 'orthanc',
      name: 'Orthanc',
      dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user },
    });
    const stores = new Map<string, number>();
    let crashAfterStore: AbortController | undefined;
    // The real client, with every STOW-RS counted, and a crash injected right after the PACS stored one.
    const real = pacs.client('orthanc');
    const dicomweb = real.dicomweb!;
    const client: PacsClient = {
      ...real,
      dicomweb: {
        ...dicomweb,
        async store(bytes: Uint8Array, study: string, signal?: AbortSignal) {
          await dicomweb.store(bytes, study, signal);
          const sop = readDicomHeader(bytes).sopInstanceUid;
          stores.set(sop, (stores.get(sop) ?? 0) + 1);
          if (crashAfterStore) {
            crashAfterStore.abort();
            throw new Error('simulated crash after the PACS stored the instance');
          }
        },
      },
    };
    const queuePath = join(dataDir, 'queue.sqlite');
    const run = async (signal: AbortSignal) => {
      const queue = openWatchQueue(queuePath);
      try {
        return await runWatch({
          client,
          library,
          queue,
          stagingRoot: join(dataDir, 'staging'),
          resultsRoot: join(dataDir, 'results'),
          process,
          query: { modalities: ['CR'], patientId: 'CRASH*' },
          node: { index: 1, count: 1 },
          since: '20260101',
          once: true,
          signal,
        });
      } finally {
        queue.close();
      }
    };
    try {
      crashAfterStore = new AbortController();
      await run(crashAfterStore.signal);
      assert.equal(stores.size, 1, 'the first run stored one result and "crashed"');
      const queue = openWatchQueue(queuePath);
      assert.equal(queue.counts().sentResults, 0, 'the crash came before the store was recorded');
      assert.ok(queue.counts().pendingResults >= 2, 'the processed study waits with its results recorded');
      queue.close();
      crashAfterStore = undefined;
      const second = await run(new AbortController().signal);
      assert.equal(second.failed, 0);
      assert.equal(stores.size, studies.size * 2, 'every SC and SR was stored');
      assert.deepEqual([...new Set(stores.values())], [1], 'each SOP Instance UID was stored exactly once');
      const held = await instancesByStudy(orthanc);
      for (const study of studies) assert.equal(held.get(study)?.length, 3);
      // Sent results hold patient data: the local copies go once a study is done.
      const left = existsSync(join(dataDir, 'results')) ? readdirSync(join(dataDir, 'results')) : [];
      assert.deepEqual(left, [], 'no local results remain for done studies');
    } finally {
      await real.close();
      await library.close();
    }
  });
  for (const [protocol, prefix] of [
    ['dicomweb', 'LATEW'],
    ['dimse', 'LATED'],
  ] as const)
    test(`late arrivals (${protocol}): a study stored later with an older date, and an instance added to a done study, are each processed once`, {
      skip: protocol === 'dimse' && !dcmtk && 'dcmtk is not installed',
    }, async () => {
      const dir = join(work.path, `late-${protocol}`);
      mkdirSync(dir, { recursive: true });
      // First poll: one study dated 20260120 moves the cursor there.
      const first = makeInstance(join(dir, 'first.dcm'), { patientId: `${prefix}1`, studyDate: '20260120' });
      await orthanc.upload(readFileSync(join(dir, 'first.dcm')));
      const dataDir = join(dir, 'node');
      const library = openLibrary({ dataDir });
      const pacs = createPacsService({
        dataDir,
        library,
        secrets: memorySecretStore({ orthanc: orthanc.password }),
      });
      await pacs.saveConnection({
        id: 'orthanc',
        name: 'Orthanc',
        dicomweb: { baseUrl: orthanc.dicomWebUrl, auth: 'basic', username: orthanc.user },
        dimse: {
          host: '127.0.0.1',
          port: orthanc.dicomPort,
          calledAet: orthanc.aet,
          callingAet: orthanc.ourAet,
          timeoutMs: 10000,
        },
      });
      const stores = new Map<string, number>();
      const count = (sop: string) => stores.set(sop, (stores.get(sop) ?? 0) + 1);
      // The real client (QIDO/WADO/STOW or C-FIND/C-GET/C-STORE), with every store counted.
      const real = pacs.client('orthanc', protocol);
      const client: PacsClient =
        protocol === 'dicomweb'
          ? {
              ...real,
              dicomweb: {
                ...real.dicomweb!,
                async store(bytes: Uint8Array, study: string, signal?: AbortSignal) {
                  await real.dicomweb!.store(bytes, study, signal);
                  count(readDicomHeader(bytes).sopInstanceUid);
                },
              },
            }
          : {
              ...real,
              dimse: {
                ...real.dimse!,
                async store(path: string, signal?: AbortSignal) {
                  await real.dimse!.store(path, signal);
                  count(readDicomHeader(new Uint8Array(readFileSync(path))).sopInstanceUid);
                },
              },
            };
      const calls: string[][] = [];
      const queuePath = join(dataDir, 'queue.sqlite');
      const logs: string[] = [];
      const polls: WatchPoll[] = [];
      const run = async () => {
        const queue = openWatchQueue(queuePath);
        try {
          return await runWatch({
            client,
            library,
            queue,
            stagingRoot: join(dataDir, 'staging'),
            resultsRoot: join(dataDir, 'results'),
            process: writeResults(calls),
            query: { modalities: ['CR'], patientId: `${prefix}*` },
            node: { index: 1, count: 1 },
            since: '20260101',
            lookBackDays: 3,
            once: true,
            signal: new AbortController().signal,
            log: (line) => logs.push(line),
            onPoll: (poll) => polls.push(poll),
          });
        } finally {
          queue.close();
        }
      };
      const cursor = () => {
        const queue = openWatchQueue(queuePath);
        try {
          return queue.getMeta('cursor');
        } finally {
          queue.close();
        }
      };
      try {
        const one = await run();
        assert.equal(one.processed, 1);
        assert.equal(cursor(), '20260120');
        assert.deepEqual(calls, [[first.sopInstanceUid]]);

        // A study that reaches the PACS after that poll, dated two days before the cursor.
        const late = makeInstance(join(dir, 'late.dcm'), { patientId: `${prefix}2`, studyDate: '20260118' });
        await orthanc.upload(readFileSync(join(dir, 'late.dcm')));
        // And one dated far before the look-back window: outside what the watch asks for.
        const old = makeInstance(join(dir, 'old.dcm'), { patientId: `${prefix}3`, studyDate: '20260105' });
        await orthanc.upload(readFileSync(join(dir, 'old.dcm')));
        const two = await run();
        assert.equal(two.processed, 1, logs.join('\n'));
        assert.equal(two.requeued, 0);
        assert.deepEqual(calls.at(-1), [late.sopInstanceUid], 'the late study, and only it');
        assert.ok(
          !calls.flat().includes(old.sopInstanceUid),
          'a study older than the window is not asked for',
        );

        // An instance added to the first study (already processed and sent) after it was done.
        const added = makeInstance(join(dir, 'added.dcm'), {
          patientId: `${prefix}1`,
          studyDate: '20260120',
          studyInstanceUid: first.studyInstanceUid,
        });
        await orthanc.upload(readFileSync(join(dir, 'added.dcm')));
        const three = await run();
        assert.equal(three.requeued, 1, logs.join('\n'));
        // Each poll's counts reach onPoll: the third asked from the window behind the cursor, found
        // the first two studies and queued the grown one again.
        assert.equal(polls.length, 3);
        assert.deepEqual(
          polls.map((p) => [p.ok, p.from, p.found, p.queued, p.requeued]),
          [
            [true, '20260101', 1, 1, 0],
            [true, '20260117', 2, 1, 0],
            [true, '20260117', 2, 1, 1],
          ],
        );
        assert.equal(three.processed, 1);
        assert.deepEqual(calls.at(-1), [added.sopInstanceUid], 'only the new instance is processed');

        // Nothing new: nothing processed, nothing sent.
        const sentBefore = stores.size;
        const four = await run();
        assert.deepEqual([four.queued, four.processed, four.sent], [0, 0, 0], logs.join('\n'));
        assert.equal(stores.size, sentBefore);

        // A queue written before instances were recorded (no seen rows): the PACS now holds more
        // instances of the first study than its results; the watch adopts what is there, once,
        // instead of processing its originals a second time.
        const legacy = new Database(queuePath);
        legacy.prepare('DELETE FROM seen_instances').run();
        legacy.close();
        const five = await run();
        assert.deepEqual(
          [five.queued, five.requeued, five.processed, five.sent],
          [0, 0, 0, 0],
          logs.join('\n'),
        );
        assert.equal(calls.length, 3, 'no original processed again');

        assert.equal(calls.length, 3, 'three rounds of processing in all');
        assert.deepEqual([...new Set(stores.values())], [1], 'each result was stored exactly once');
        assert.equal(stores.size, 6, 'an SC and an SR for each of the three originals');
        const held = await instancesByStudy(orthanc);
        const firstClasses = held.get(first.studyInstanceUid) ?? [];
        assert.equal(firstClasses.length, 6, 'two originals, two SC, two SR: nothing twice');
        assert.equal(firstClasses.filter((c) => c === SR_CLASS).length, 2);
        assert.equal(held.get(late.studyInstanceUid)?.length, 3);
        assert.equal(held.get(old.studyInstanceUid)?.length, 1, 'the old study is left alone');
      } finally {
        await real.close();
        await library.close();
      }
    });
});
