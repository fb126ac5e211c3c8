// Roles: an owner passphrase per study; results, exports and the audit trail hidden from readers until
// the owner closes the study; who did what in the audit trail.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openReviewStore } from '../../../main/review/index.ts';
import { sampleStudy, tempDir } from './helpers.ts';

const passphrase = 'correct horse battery';
const forbidden = (code: string) => (error: unknown) =>
  (error as { code?: string }).code === code || assert.fail(`expected ${code}, got ${String(error)}`);

describe('study owner and readers', () => {
  const temp = tempDir();
  const store = openReviewStore({ dataDir: temp.dir });
  after(() => {
    store.close();
    temp.remove();
  });
  const study = store.createStudy(sampleStudy({ ownerPassphrase: passphrase, readers: ['Dr A'] }));
  const reader = study.readerProgress[0]!;
  const asReader = { readerSecret: study.readerSecrets[0]!.secret };

  test('the passphrase is stored as an scrypt hash, never in the clear or in the configuration', () => {
    assert.equal(study.ownerProtected, true);
    assert.equal(study.closed, false);
    assert.ok(!JSON.stringify(study).includes(passphrase));
    // WAL mode: recent pages are in the -wal file.
    const file = join(temp.dir, 'reader-studies.sqlite');
    const bytes = Buffer.concat([
      readFileSync(file),
      existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0),
    ]);
    assert.ok(!bytes.includes(Buffer.from(passphrase)), 'passphrase in the database file');
    assert.ok(bytes.includes(Buffer.from('scrypt$')));
  });

  test('before close: results, exports and the audit trail are refused without the passphrase', () => {
    store.startOrResumeSession(study.id, reader.id, asReader);
    assert.throws(() => store.results(study.id), forbidden('forbidden'));
    assert.throws(() => store.exportCsv(study.id), forbidden('forbidden'));
    assert.throws(() => store.exportJson(study.id), forbidden('forbidden'));
    assert.throws(() => store.auditTrail(study.id), forbidden('forbidden'));
    assert.throws(
      () => store.results(study.id, { ownerPassphrase: 'wrong passphrase' }),
      forbidden('forbidden'),
    );
  });

  test('the owner sees them with the passphrase (monitoring)', () => {
    const results = store.results(study.id, { ownerPassphrase: passphrase });
    assert.equal(results.studyId, study.id);
    const audit = store.auditTrail(study.id, { ownerPassphrase: passphrase });
    assert.ok(
      audit.some((a) => a.action === 'owner_refused'),
      'the wrong passphrase is in the audit trail',
    );
  });

  test('a reader cannot close the study; the owner can, and then everyone sees results, no more answers', () => {
    assert.throws(
      () => store.closeStudy(study.id, { ownerPassphrase: 'not the owner' }),
      forbidden('forbidden'),
    );
    const view = store.startOrResumeSession(study.id, reader.id, asReader);
    const closed = store.closeStudy(study.id, { ownerPassphrase: passphrase });
    assert.equal(closed.closed, true);
    assert.equal(store.results(study.id).studyId, study.id);
    const audit = store.auditTrail(study.id);
    const closing = audit.find((a) => a.action === 'study_closed');
    assert.equal(closing?.details['actor'], 'owner');
    assert.equal(closing?.readerId, null);
    assert.ok(
      audit.some((a) => a.action === 'session_started' && a.readerId === reader.id),
      'reader actions name the reader',
    );
    assert.throws(
      () =>
        store.answer(
          {
            studyId: study.id,
            readerId: reader.id,
            caseId: view.case!.caseId,
            questionId: 'quality',
            presentationId: view.case!.images[0]!.presentationId,
            value: 3,
          },
          asReader,
        ),
      forbidden('forbidden'),
    );
  });

  test('a short passphrase is refused', () => {
    assert.throws(() => store.createStudy(sampleStudy({ ownerPassphrase: 'short' })), forbidden('bad_input'));
  });

  test('a study without an owner stays open (API and CLI studies)', () => {
    const open = store.createStudy(sampleStudy());
    assert.equal(open.ownerProtected, false);
    assert.equal(store.results(open.id).studyId, open.id);
  });
});
