// Per-reader secrets: a reader signs in with their own secret (scrypt hash kept, never the secret);
// reader A cannot read as reader B; in a reading kit each reader's answers key is wrapped with their
// secret, so an answers file forged by one reader in another's name is refused at merge.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { encodeKitImage, openReviewStore, packPixels } from '../../../main/review/index.ts';
import { sampleStudy, tempDir } from './helpers.ts';

const passphrase = 'owner passphrase 9';
const owner = { ownerPassphrase: passphrase };
const code = (expected: string) => (error: unknown) =>
  (error as { code?: string }).code === expected || assert.fail(`expected ${expected}, got ${String(error)}`);

async function renderImage() {
  const display = {
    dataType: 'uint16',
    photometric: 'MONOCHROME2',
    window: { center: 2048, width: 4096 },
    voiFunction: 'LINEAR',
    units: '',
  } as const;
  return encodeKitImage(packPixels(new Array(4 * 4).fill(1000), 4, 4, display), { slope: 1, intercept: 0 });
}

describe('reader secrets', () => {
  const dirs = [tempDir(), tempDir()];
  const [ownerDir, readerDir] = dirs.map((d) => d.dir) as [string, string];
  const store = openReviewStore({ dataDir: ownerDir });
  const remote = openReviewStore({ dataDir: readerDir });
  after(() => {
    store.close();
    remote.close();
    for (const d of dirs) d.remove();
  });
  const study = store.createStudy(sampleStudy({ ownerPassphrase: passphrase, readers: ['Dr A'] }));
  const a = study.readerSecrets[0]!;

  test('set-up generates a secret per reader, shown once; only its scrypt hash is stored', () => {
    assert.match(a.secret, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    assert.ok(!JSON.stringify(store.getStudy(study.id)).includes(a.secret));
    const file = join(ownerDir, 'reader-studies.sqlite');
    const bytes = Buffer.concat([
      readFileSync(file),
      existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0),
    ]);
    assert.ok(!bytes.includes(Buffer.from(a.secret)), 'reader secret in the database file');
  });

  test('adding a reader to an owner-protected study is the owner’s; the owner may set the secret', () => {
    assert.throws(() => store.addReader(study.id, { name: 'Dr B' }), code('forbidden'));
    assert.throws(
      () => store.addReader(study.id, { name: 'Dr B' }, { ownerPassphrase: 'wrong one!' }),
      code('forbidden'),
    );
    const b = store.addReader(study.id, { name: 'Dr B', secret: 'b-secret-123' }, owner);
    assert.equal(b.secret, undefined, 'a secret the owner chose is not echoed');
    const c = store.addReader(study.id, { name: 'Dr C' }, owner);
    assert.match(c.secret ?? '', /^[0-9a-z]{4}-/);
    assert.throws(() => store.addReader(study.id, { name: 'Dr C' }, owner), /already a reader/);
  });

  test('a wrong secret is refused and audited; the right one (any case, spaces) signs in', () => {
    assert.throws(() => store.signInReader(study.id, a.readerId, 'not-the-secret'), code('forbidden'));
    assert.throws(() => store.startOrResumeSession(study.id, a.readerId), /needs the reader's secret/);
    assert.throws(
      () => store.startOrResumeSession(study.id, a.readerId, { readerSecret: 'wrong-secret' }),
      code('forbidden'),
    );
    const { readerToken } = store.signInReader(study.id, a.readerId, ` ${a.secret.toUpperCase()} `);
    const view = store.startOrResumeSession(study.id, a.readerId, { readerToken });
    assert.ok(view.case);
    const trail = store.auditTrail(study.id, owner);
    const refused = trail.filter((e) => e.action === 'reader_refused' && e.readerId === a.readerId);
    assert.ok(refused.length >= 3, 'each refusal is audited with the reader');
    assert.ok(trail.some((e) => e.action === 'reader_signed_in' && e.readerId === a.readerId));
    assert.ok(!JSON.stringify(trail).includes(a.secret), 'no secret in the audit trail');
  });

  test("reader A cannot open or answer in reader B's session with A's secret or token", () => {
    const b = store.getStudy(study.id).readerProgress.find((r) => r.name === 'Dr B')!;
    const { readerToken } = store.signInReader(study.id, a.readerId, a.secret);
    assert.throws(() => store.startOrResumeSession(study.id, b.id, { readerToken }), code('forbidden'));
    assert.throws(
      () => store.startOrResumeSession(study.id, b.id, { readerSecret: a.secret }),
      code('forbidden'),
    );
    assert.throws(() => store.signInReader(study.id, b.id, a.secret), code('forbidden'));
    assert.throws(() => store.next(study.id, b.id, { readerToken }), code('forbidden'));
    const bView = store.startOrResumeSession(study.id, b.id, { readerSecret: 'b-secret-123' });
    assert.throws(
      () =>
        store.answer(
          {
            studyId: study.id,
            readerId: b.id,
            caseId: bView.case!.caseId,
            questionId: 'preference',
            value: bView.case!.images[0]!.presentationId,
          },
          { readerToken },
        ),
      code('forbidden'),
    );
  });

  test('the owner gives a reader a new secret; the old one stops working', () => {
    const { secret } = store.setReaderSecret(study.id, a.readerId, owner);
    assert.throws(() => store.signInReader(study.id, a.readerId, a.secret), code('forbidden'));
    store.signInReader(study.id, a.readerId, secret);
    assert.throws(() => store.setReaderSecret(study.id, a.readerId, {}), code('forbidden'));
    // Back to the first one (the owner may choose it), for the kit below.
    store.setReaderSecret(study.id, a.readerId, owner, a.secret);
  });

  test('in a kit, answers are bound to the reader: a file forged in another reader’s name is refused', async () => {
    const b = store.getStudy(study.id).readerProgress.find((r) => r.name === 'Dr B')!;
    const c = store.getStudy(study.id).readerProgress.find((r) => r.name === 'Dr C')!;
    const kitPath = join(ownerDir, 'kit.r2ckit');
    await store.exportKit(study.id, owner, kitPath, { renderImage, readerIds: [a.readerId, b.id] });
    const kitText = readFileSync(kitPath).toString('latin1');
    assert.ok(!kitText.includes(a.secret) && !kitText.includes('b-secret-123'), 'no secret in the kit');
    remote.importKit(kitPath);
    // Nobody enrols themselves into a kit study on the reader's workstation.
    assert.throws(() => remote.addReader(study.id, { name: 'Dr Intruder' }), /added by the study owner/);
    // Reader A cannot sign in or export as B on the reader's workstation.
    assert.throws(() => remote.signInReader(study.id, b.id, a.secret), code('forbidden'));
    assert.throws(() => remote.exportAnswers(study.id, b.id, { readerSecret: a.secret }), code('forbidden'));
    assert.throws(() => remote.exportAnswers(study.id, a.readerId), code('forbidden'));
    // A reads a case and exports their own answers (a valid file)...
    const { readerToken } = remote.signInReader(study.id, a.readerId, a.secret);
    const view = remote.startOrResumeSession(study.id, a.readerId, { readerToken });
    const shown = view.case!;
    for (const image of shown.images) {
      const base = {
        studyId: study.id,
        readerId: a.readerId,
        caseId: shown.caseId,
        presentationId: image.presentationId,
      };
      remote.answer({ ...base, questionId: 'quality', value: 4 }, { readerToken });
      remote.answer({ ...base, questionId: 'findings', value: 'yes' }, { readerToken });
    }
    remote.answer(
      {
        studyId: study.id,
        readerId: a.readerId,
        caseId: shown.caseId,
        questionId: 'preference',
        value: shown.images[0]!.presentationId,
      },
      { readerToken },
    );
    remote.next(study.id, a.readerId, { readerToken });
    const own = JSON.parse(remote.exportAnswers(study.id, a.readerId, { readerSecret: a.secret }).text);
    // ...then rewrites it as B's with a MAC of A's choosing (A has no key of B's).
    const forged = { ...own, body: { ...own.body, readerId: b.id, reader: 'Dr B' } };
    forged.mac = createHmac('sha256', Buffer.alloc(32, 7)).update(JSON.stringify(forged.body)).digest('hex');
    assert.throws(
      () => store.mergeAnswers(study.id, owner, JSON.stringify(forged)),
      /not signed with Dr B's own answers key/,
    );
    // Same body and A's genuine MAC, only the reader changed: refused too.
    const relabelled = { body: forged.body, mac: own.mac };
    assert.throws(() => store.mergeAnswers(study.id, owner, JSON.stringify(relabelled)), code('integrity'));
    // A reader not in the study at all.
    const stranger = { body: { ...own.body, readerId: 'rd-nobody' }, mac: own.mac };
    assert.throws(
      () => store.mergeAnswers(study.id, owner, JSON.stringify(stranger)),
      /not a reader of this study/,
    );
    // C (in the study, not in this kit) cannot be forged either.
    const asC = { body: { ...own.body, readerId: c.id }, mac: own.mac };
    assert.throws(() => store.mergeAnswers(study.id, owner, JSON.stringify(asC)), code('integrity'));
    const refusals = store.auditTrail(study.id, owner).filter((e) => e.action === 'answers_refused');
    assert.ok(refusals.length >= 4, 'each refused file is audited');
    // A's own file merges.
    const merged = store.mergeAnswers(study.id, owner, JSON.stringify(own));
    assert.equal(merged.reader, 'Dr A');
    assert.equal(merged.merged, 1);
  });

  test('a study without an owner: readers without a secret read as before', () => {
    const open = store.createStudy(sampleStudy({ readers: ['Dr Open'] }));
    assert.deepEqual(open.readerSecrets, []);
    const view = store.startOrResumeSession(open.id, open.readerProgress[0]!.id);
    assert.ok(view.case);
  });
});
