import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openReviewStore } from '../../../main/review/index.ts';
import { databaseFileName } from '../../../main/review/db.ts';
import { sampleStudy, tempDir } from './helpers.ts';

const { dir, remove } = tempDir();
after(remove);

test('SIGKILL mid-session loses no saved answer, and the session resumes', async () => {
  const store = openReviewStore({ dataDir: dir });
  const images = Array.from({ length: 200 }, (_, i) => `inst-${i}`);
  const study = store.createStudy(sampleStudy({ images }));
  const reader = store.addReader(study.id, { name: 'Dr Crash' });
  store.close();

  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(new URL('./fixtures/answer-child.ts', import.meta.url)),
      dir,
      study.id,
      reader.id,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const acknowledged: {
    caseId: string;
    questionId: string;
    presentationId?: string;
    value: number | string;
  }[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let buffered = '';
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal })), // after stdout is drained
  );
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line === 'done') continue;
      acknowledged.push(JSON.parse(line));
      // Kill mid-case (not on a case boundary) once enough answers are in.
      if (acknowledged.length === 37) child.kill('SIGKILL');
    }
  });
  const { signal } = await exit;
  assert.equal(signal, 'SIGKILL', `child should have been killed (stderr: ${stderr})`);
  assert.ok(acknowledged.length >= 37);

  const raw = new Database(join(dir, databaseFileName), { readonly: true });
  assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
  // Saved answers as the reader gave them: the image by presentation id, a forced choice as the chosen one.
  const saved = raw
    .prepare<[], { caseId: string; questionId: string; presentationId: string | null; value: string }>(
      `SELECT a.case_id AS caseId, a.question_id AS questionId,
         CASE a.target WHEN 'left' THEN c.left_presentation WHEN 'right' THEN c.right_presentation END AS presentationId,
         CASE WHEN a.question_id = 'preference' THEN
           json_quote(CASE json_extract(a.value, '$') WHEN c.left_variant THEN c.left_presentation ELSE c.right_presentation END)
         ELSE a.value END AS value
       FROM answers a JOIN session_cases c ON c.id = a.case_id`,
    )
    .all();
  raw.close();
  assert.ok(
    saved.length >= acknowledged.length,
    `${saved.length} saved < ${acknowledged.length} acknowledged`,
  );
  for (const answer of acknowledged) {
    const match = saved.find(
      (s) =>
        s.caseId === answer.caseId &&
        s.questionId === answer.questionId &&
        s.presentationId === (answer.presentationId ?? null),
    );
    assert.ok(match, `acknowledged answer lost: ${JSON.stringify(answer)}`);
    assert.deepEqual(JSON.parse(match.value), answer.value);
  }

  const reopened = openReviewStore({ dataDir: dir });
  const view = reopened.startOrResumeSession(study.id, reader.id);
  // The case on screen after resuming is the one the child was in the middle of, with its answers.
  const lastCase = acknowledged.at(-1)!.caseId;
  const onScreen = view.case!;
  if (onScreen.caseId === lastCase) {
    const mine = acknowledged.filter((a) => a.caseId === lastCase);
    for (const a of mine)
      assert.ok(
        onScreen.answers.some(
          (s) =>
            s.questionId === a.questionId && s.presentationId === a.presentationId && s.value === a.value,
        ),
        `resumed case lacks ${JSON.stringify(a)}`,
      );
  } else {
    // The kill landed after the child had finished that case and moved on.
    assert.equal(acknowledged.filter((a) => a.caseId === lastCase).length, 5);
    assert.equal(onScreen.position, view.completed + 1);
  }
  assert.equal(view.completed, reopened.getStudy(study.id).readerProgress[0]!.completed);
  reopened.close();
});
