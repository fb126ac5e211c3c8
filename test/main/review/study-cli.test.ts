// `r2c study` on data folders: import-kit, list, export-answers on the reader's folder; merge (a
// tampered file refused by name, exit 1), report and close on the owner's; the passphrase from the
// environment. The kit itself is made through the store (export-kit needs the app's renderer).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { studyCommand } from '../../../main/cli/commands/study.ts';
import { encodeKitImage, openReviewStore, packPixels } from '../../../main/review/index.ts';
import { sampleStudy, tempDir } from './helpers.ts';

const passphrase = 'cli owner passphrase';

async function r2c(dataDir: string, argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { data: process.env['R2C_DATA_DIR'], pass: process.env['R2C_OWNER_PASSPHRASE'] };
  process.env['R2C_DATA_DIR'] = dataDir;
  process.env['R2C_OWNER_PASSPHRASE'] = passphrase;
  try {
    const code = await studyCommand.run(argv, {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      isTty: false,
      signal: new AbortController().signal,
    });
    return { code, out, err };
  } finally {
    for (const [key, value] of [
      ['R2C_DATA_DIR', saved.data],
      ['R2C_OWNER_PASSPHRASE', saved.pass],
    ] as const)
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
  }
}

describe('r2c study: kits, answers, merge, report, close', () => {
  const owner = tempDir();
  const reader = tempDir();
  after(() => {
    owner.remove();
    reader.remove();
  });

  test('a kit read on another data folder merges back through the CLI', async () => {
    const store = openReviewStore({ dataDir: owner.dir });
    const study = store.createStudy(sampleStudy({ ownerPassphrase: passphrase, readers: ['Dr Cli'] }));
    const kitPath = join(owner.dir, 'study.r2ckit.zip');
    await store.exportKit(study.id, { ownerPassphrase: passphrase }, kitPath, {
      renderImage: () =>
        encodeKitImage(
          packPixels(new Array(16).fill(128), 4, 4, {
            dataType: 'uint8',
            photometric: 'MONOCHROME2',
            window: { center: 127.5, width: 256 },
            voiFunction: 'LINEAR',
            units: '',
          }),
          { slope: 1, intercept: 0 },
        ),
    });
    store.close();

    const imported = await r2c(reader.dir, ['import-kit', kitPath]);
    assert.equal(imported.code, 0, imported.err.join('\n'));
    assert.match(imported.out.join('\n'), /signed; signer key SHA-256 [0-9a-f]{64}/);
    const listed = await r2c(reader.dir, ['list']);
    assert.match(listed.out[0]!, /from a reading kit/);

    const readerStore = openReviewStore({ dataDir: reader.dir });
    const readerId = readerStore.getStudy(study.id).readerProgress[0]!.id;
    const readerSecret = study.readerSecrets[0]!.secret;
    let view = readerStore.startOrResumeSession(study.id, readerId, { readerSecret });
    while (view.case) {
      const c = view.case;
      for (const image of c.images) {
        const ref = { studyId: study.id, readerId, caseId: c.caseId, presentationId: image.presentationId };
        view = readerStore.answer({ ...ref, questionId: 'quality', value: 4 }, { readerSecret });
        view = readerStore.answer({ ...ref, questionId: 'findings', value: 'yes' }, { readerSecret });
      }
      view = readerStore.answer(
        {
          studyId: study.id,
          readerId,
          caseId: c.caseId,
          questionId: 'preference',
          value: c.images[0]!.presentationId,
        },
        { readerSecret },
      );
      view = readerStore.next(study.id, readerId, { readerSecret });
    }
    readerStore.close();
    const answersFile = join(reader.dir, 'answers.json');
    const secretFile = join(reader.dir, 'secret.txt');
    writeFileSync(secretFile, `${readerSecret}\n`);
    await assert.rejects(
      () => r2c(reader.dir, ['export-answers', study.id, '--reader', readerId, '--out', answersFile]),
      /needs their reader secret/,
    );
    const exported = await r2c(reader.dir, [
      'export-answers',
      '--secret-file',
      secretFile,
      study.id,
      '--reader',
      readerId,
      '--out',
      answersFile,
    ]);
    assert.equal(exported.code, 0, exported.err.join('\n'));

    const tampered = join(reader.dir, 'tampered.json');
    writeFileSync(tampered, readFileSync(answersFile, 'utf8').replace('"value": 4', '"value": 5'));
    const merged = await r2c(owner.dir, ['merge', study.id, tampered, answersFile]);
    assert.equal(merged.code, 1, 'one file refused');
    assert.match(merged.err.join('\n'), /tampered\.json: refused \(integrity\)/);
    assert.match(merged.out.join('\n'), /4 case\(s\) merged, 0 already merged; 4 of 4 finished/);

    const reportFile = join(owner.dir, 'report.html');
    assert.equal((await r2c(owner.dir, ['report', study.id, '--out', reportFile])).code, 0);
    assert.match(readFileSync(reportFile, 'utf8'), /Restoration preference/);
    const pdfFile = join(owner.dir, 'report.pdf');
    const pdf = await r2c(owner.dir, ['report', study.id, '--out', pdfFile]);
    assert.equal(pdf.code, 0, pdf.err.join('\n'));
    assert.match(pdf.out.join('\n'), /\(pdf\)/);
    assert.equal(readFileSync(pdfFile).subarray(0, 5).toString(), '%PDF-');
    // The owner adds a reader (a generated secret, printed once) and gives a new one.
    const added = await r2c(owner.dir, ['add-reader', study.id, '--name', 'Dr Later']);
    assert.equal(added.code, 0, added.err.join('\n'));
    const addedSecret = /reader secret \(shown once\): (\S+)/.exec(added.out.join('\n'))?.[1];
    assert.match(addedSecret ?? '', /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    const laterId = /\((rd-[^)]+)\)/.exec(added.out[0]!)![1]!;
    const renewed = await r2c(owner.dir, ['reader-secret', study.id, '--reader', laterId]);
    assert.equal(renewed.code, 0, renewed.err.join('\n'));
    const newSecret = /: (\S+)$/.exec(renewed.out[0]!)![1]!;
    assert.notEqual(newSecret, addedSecret);
    const check = openReviewStore({ dataDir: owner.dir });
    try {
      assert.throws(() => check.signInReader(study.id, laterId, addedSecret!), /secret is wrong/);
      assert.ok(check.signInReader(study.id, laterId, newSecret).readerToken);
    } finally {
      check.close();
    }
    const closed = await r2c(owner.dir, ['close', study.id]);
    assert.equal(closed.code, 0, closed.err.join('\n'));
  });
});
