import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, mock, test } from 'node:test';
import { type AppJobs, threadTransport } from '../../../main/app/jobs.ts';
import { createJobRunner, TERMINATE_WAIT_MS } from '../../../main/jobs/runner.ts';
import type { FromWorker, ToWorker, WorkerTransport } from '../../../main/jobs/types.ts';
import { AppError } from '../../../main/util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'r2c-jobs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('job runner on worker threads', () => {
  test('runs a job off the main thread and reports progress', async () => {
    const runner = createJobRunner<AppJobs>(threadTransport);
    const file = join(dir, 'x.txt');
    writeFileSync(file, 'hello\n');
    const progress: number[] = [];
    const { files } = await runner.run(
      'hashFiles',
      { paths: [file] },
      { onProgress: (p) => progress.push(p.done) },
    );
    assert.deepEqual(files, [
      { path: file, size: 6, sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03' },
    ]);
    assert.equal(progress.at(-1), 6);
    await runner.close();
  });

  test('queues beyond the concurrency limit and cancels a queued job without running it', async () => {
    const runner = createJobRunner<AppJobs>(threadTransport, 1);
    const file = join(dir, 'y.bin');
    writeFileSync(file, Buffer.alloc(1024));
    const controller = new AbortController();
    const first = runner.run('hashFiles', { paths: [file] });
    const second = runner.run('hashFiles', { paths: [file] }, { signal: controller.signal });
    controller.abort();
    await assert.rejects(second, (e: unknown) => e instanceof AppError && e.code === 'cancelled');
    assert.equal((await first).files.length, 1);
    await runner.close();
  });
});

/** A transport whose worker we control, to exercise crash handling without crashing a real worker. */
function scriptedTransport(
  onRun: (message: ToWorker, reply: (m: FromWorker) => void, die: (r: string) => void) => void,
) {
  return (): WorkerTransport => {
    let listener: (m: FromWorker) => void = () => {};
    let exit: (r: string) => void = () => {};
    return {
      post: (message) =>
        onRun(
          message,
          (m) => listener(m),
          (r) => exit(r),
        ),
      onMessage: (l) => {
        listener = l;
      },
      onExit: (l) => {
        exit = l;
      },
      setIdle: () => {},
      terminate: async () => {},
    };
  };
}

describe('job runner failure handling', () => {
  test('a worker that dies fails its job with a clear error and the next job gets a new worker', async () => {
    let starts = 0;
    const runner = createJobRunner<AppJobs>(
      scriptedTransport((message, reply, die) => {
        if (message.type !== 'run') return;
        starts += 1;
        if (starts === 1) die('out of memory');
        else reply({ type: 'done', id: message.id, output: { files: [] } });
      }),
    );
    await assert.rejects(
      runner.run('hashFiles', { paths: ['a'] }),
      /job worker stopped unexpectedly: out of memory/,
    );
    assert.deepEqual(await runner.run('hashFiles', { paths: ['a'] }), { files: [] });
    await runner.close();
  });

  test('errors from the worker keep their code', async () => {
    const runner = createJobRunner<AppJobs>(
      scriptedTransport((message, reply) => {
        if (message.type === 'run')
          reply({ type: 'failed', id: message.id, error: { code: 'bad_input', message: 'truncated file' } });
      }),
    );
    await assert.rejects(
      runner.run('hashFiles', { paths: ['a'] }),
      (e: unknown) => e instanceof AppError && e.code === 'bad_input',
    );
    await runner.close();
    await assert.rejects(runner.run('hashFiles', { paths: ['a'] }), /closed/);
  });
});

describe('job runner shutdown', () => {
  test('a worker that never exits after terminate does not hang close(); a warning says so', async () => {
    let terminateCalls = 0;
    const runner = createJobRunner<AppJobs>(() => {
      let listener: (m: FromWorker) => void = () => {};
      return {
        post: (message) => {
          if (message.type === 'run') listener({ type: 'done', id: message.id, output: { files: [] } });
          if (message.type === 'shutdown') listener({ type: 'closed' });
        },
        onMessage: (l) => {
          listener = l;
        },
        onExit: () => {},
        setIdle: () => {},
        // A thread stuck in a native call: its terminate() never settles.
        terminate: () => {
          terminateCalls += 1;
          return new Promise<void>(() => {});
        },
      };
    });
    assert.deepEqual(await runner.run('hashFiles', { paths: ['a'] }), { files: [] });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => {
      if (warning.name === 'JobWorkerWarning') warnings.push(warning);
    };
    process.on('warning', onWarning);
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let settled = false;
      const closing = runner.close().then(() => {
        settled = true;
      });
      await new Promise((r) => setImmediate(r));
      assert.equal(terminateCalls, 1, 'terminate was asked for once the worker said closed');
      mock.timers.tick(TERMINATE_WAIT_MS - 1);
      await new Promise((r) => setImmediate(r));
      assert.equal(settled, false, 'close() waits for the worker until the limit');
      mock.timers.tick(1);
      await new Promise((r) => setImmediate(r));
      assert.equal(settled, true, 'close() returns once the limit has passed');
      await closing;
      await new Promise((r) => setImmediate(r));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!.message, /did not exit within 10 s/);
    } finally {
      mock.timers.reset();
      process.off('warning', onWarning);
    }
  });
});

describe('job runner lanes', () => {
  test('a long job runs on its own worker: short jobs pass it, a second long job waits for it', async () => {
    // Each transport is one worker; jobs finish only when the test says so.
    const workers: { id: number; jobs: number[]; reply: (m: FromWorker) => void }[] = [];
    const runner = createJobRunner<AppJobs>(
      () => {
        const worker = { id: workers.length, jobs: [] as number[], reply: (_m: FromWorker) => {} };
        workers.push(worker);
        return {
          post: (message) => {
            if (message.type === 'run') worker.jobs.push(message.id);
          },
          onMessage: (l) => {
            worker.reply = l;
          },
          onExit: () => {},
          setIdle: () => {},
          terminate: async () => {},
        };
      },
      1,
      1,
    );
    const done = (workerId: number) => {
      const w = workers[workerId]!;
      w.reply({ type: 'done', id: w.jobs.at(-1)!, output: { files: [] } });
    };
    const longA = runner.run('hashFiles', { paths: ['train'] }, { long: true });
    const longB = runner.run('hashFiles', { paths: ['evaluate'] }, { long: true });
    const short1 = runner.run('hashFiles', { paths: ['thumb1'] });
    const short2 = runner.run('hashFiles', { paths: ['thumb2'] });
    assert.equal(workers.length, 2, 'one worker per lane');
    assert.deepEqual(
      workers.map((w) => w.jobs.length),
      [1, 1],
      'the first long job and the first short job started; the rest wait in their lanes',
    );
    done(1); // the short worker finishes thumb1: thumb2 starts there, not behind the long queue
    assert.deepEqual(await short1, { files: [] });
    assert.equal(workers[1]!.jobs.length, 2, 'thumb2 runs while both long jobs are pending');
    done(1);
    assert.deepEqual(await short2, { files: [] });
    assert.equal(workers[0]!.jobs.length, 1, 'the second long job still waits for the first');
    done(0);
    await longA;
    assert.equal(workers[0]!.jobs.length, 2, 'then it starts on the long worker');
    done(0);
    await longB;
    assert.equal(workers.length, 2, 'no extra workers were started');
    await runner.close();
  });
});
