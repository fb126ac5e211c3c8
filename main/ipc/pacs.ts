// PACS channels: thin calls into the PACS service; retrieve, send and watch run as cancellable jobs.
// The watches running in this process are kept here (one per connection and node share), so a page
// that was reloaded finds its watch again and can stop it.
import { localModelsDir } from '../app/paths.ts';
import type { Services } from '../app/services.ts';
import { sendStudyReports } from '../app/study-reports.ts';
import type { pacsChannels } from '../contract/pacs.ts';
import type { Output } from '../contract/types.ts';
import {
  outgoingRoot,
  pacsPaths,
  prepareOutgoing,
  processWith,
  readWatchStatus,
  recordWatchPoll,
} from '../pacs/index.ts';
import { closedStudyForReport } from '../review/index.ts';
import { AppError, serializeError } from '../util/errors.ts';
import type { DomainHandlers, JobCalls } from './jobs.ts';

type RunningWatch = NonNullable<Output<'pacsWatchStatus'>['running']>;
type SentResult = Output<'pacsSendResults'>['items'][number];

export function pacsHandlers(services: Services, jobs: JobCalls): DomainHandlers<typeof pacsChannels> {
  const { pacs } = services;
  const watches = new Map<string, RunningWatch>();
  const watchKey = (id: string, node: { index: number; count: number }) =>
    `${id}#${node.index}/${node.count}`;
  const requireConnection = (id: string) => {
    if (!pacs.listConnections().some((c) => c.id === id))
      throw new AppError('not_found', `no PACS connection '${id}' (configure it in Settings)`);
  };
  return {
    async pacsListConnections() {
      return { connections: pacs.listConnections(), secretProtection: pacs.secretProtection };
    },
    async pacsSaveConnection({ connection, secret }) {
      return pacs.saveConnection(connection, secret);
    },
    async pacsDeleteConnection({ id }) {
      await pacs.deleteConnection(id);
      return { deleted: true as const };
    },
    async pacsEcho({ id, protocol }) {
      return pacs.echo(id, protocol ? { protocol } : {});
    },
    async pacsSearch({ id, query }) {
      return { studies: await pacs.searchStudies(id, query) };
    },
    async pacsSeries({ id, studyInstanceUid }) {
      return { series: await pacs.searchSeries(id, studyInstanceUid) };
    },
    async pacsRetrieve({ jobId, id, targets }, { emit }) {
      return jobs.run(jobId, emit, async (signal, onProgress) => ({
        results: await pacs.retrieve(id, targets, { signal, onProgress }),
      }));
    },
    async pacsSend({ jobId, id, paths, protocol }, { emit }) {
      return jobs.run(jobId, emit, async (signal, onProgress) => ({
        items: await pacs.send(id, paths, {
          signal,
          ...(protocol ? { protocol } : {}),
          onItem: (_item, index) => onProgress({ done: index + 1, total: paths.length }),
        }),
      }));
    },
    async pacsSendResults({ jobId, id, instanceIds, modelId, protocol }, { emit }) {
      requireConnection(id);
      return jobs.run(jobId, emit, async (signal, onProgress) => {
        const items: SentResult[] = [];
        const total = instanceIds.length;
        const root = outgoingRoot(services.config.dataDir);
        for (const [index, instanceId] of instanceIds.entries()) {
          if (signal.aborted) break;
          const step = `image ${index + 1} of ${total}`;
          onProgress({ done: index, total, message: `${step}: preparing the restored image and report` });
          let pair: Awaited<ReturnType<typeof prepareOutgoing>>;
          try {
            pair = await prepareOutgoing({
              library: services.library,
              run: (input, s) => services.jobs.run('processImages', input, { signal: s }),
              root,
              shippedDir: services.config.modelsDir,
              localDir: localModelsDir(services.config.dataDir),
              instanceId,
              ...(modelId ? { modelId } : {}),
              signal,
            });
          } catch (error) {
            if (signal.aborted) break;
            items.push({
              instanceId,
              kind: null,
              status: 'failed',
              sopInstanceUid: '',
              attempts: 0,
              error: serializeError(error),
            });
            continue;
          }
          onProgress({ done: index, total, message: `${step}: sending` });
          const sent = await pacs.send(id, [pair.sc, pair.sr], { signal, ...(protocol ? { protocol } : {}) });
          for (const [i, item] of sent.entries())
            items.push({
              instanceId,
              kind: i === 0 ? 'sc' : 'sr',
              status: item.status,
              sopInstanceUid: item.sopInstanceUid,
              attempts: item.attempts,
              ...(item.error ? { error: item.error } : {}),
            });
        }
        const done = new Set(items.map((i) => i.instanceId)).size;
        onProgress({ done, total, message: signal.aborted ? 'cancelled' : 'done' });
        return { items, cancelled: signal.aborted };
      });
    },
    async pacsSendStudyReports({ jobId, id, studyId, protocol }, { emit }) {
      requireConnection(id);
      // Refused before the job starts: an unknown, open or kit study is the caller's error.
      closedStudyForReport(services.review, studyId);
      return jobs.run(jobId, emit, async (signal, onProgress) => {
        const items = await sendStudyReports({
          pacs,
          connectionId: id,
          library: services.library,
          review: services.review,
          studyId,
          dataDir: services.config.dataDir,
          signal,
          ...(protocol ? { protocol } : {}),
          onItem: (_item, progress) =>
            onProgress({ ...progress, message: `${progress.done} of ${progress.total} images` }),
        });
        return { items, cancelled: signal.aborted };
      });
    },
    async pacsWatchStatus({ id, node }) {
      requireConnection(id);
      const status = readWatchStatus(pacsPaths(services.config.dataDir).queue(id, node));
      return { ...status, running: watches.get(watchKey(id, node)) ?? null };
    },
    async pacsWatch({ jobId, id, node, query, since, pollIntervalS, lookBackDays, once }, { emit }) {
      requireConnection(id);
      const key = watchKey(id, node);
      const already = watches.get(key);
      if (already)
        throw new AppError(
          'bad_input',
          `a watch already runs for '${id}' as node ${node.index} of ${node.count} (since ${already.startedAt}); stop it first`,
        );
      const queuePath = pacsPaths(services.config.dataDir).queue(id, node);
      watches.set(key, {
        jobId,
        startedAt: new Date().toISOString(),
        query: { ...query, limit: query.limit ?? 100, offset: query.offset ?? 0 },
        ...(since ? { since } : {}),
        pollIntervalS: pollIntervalS ?? 60,
        lookBackDays: lookBackDays ?? 3,
      });
      // Starting and stopping a watch are activities (the connection hashed, counts only).
      const logged = { connection: services.log.hash(id), node: `${node.index}/${node.count}` };
      services.log.info('pacs.watch', { action: 'start', ...logged, lookBackDays: lookBackDays ?? 3 });
      let stopped: Record<string, number | string> = { outcome: 'failed' };
      try {
        const summary = await jobs.run(jobId, emit, async (signal, onProgress) => {
          let done = 0;
          const studiesDone = () => `${done} ${done === 1 ? 'study' : 'studies'} done`;
          const process = processWith(
            (input, s) => services.jobs.run('processImages', input, { signal: s }),
            {
              shippedDir: services.config.modelsDir,
              localDir: localModelsDir(services.config.dataDir),
            },
          );
          return pacs.watch(id, {
            node,
            query,
            process,
            signal,
            ...(since ? { since } : {}),
            lookBackDays: lookBackDays ?? 3,
            once: once ?? false,
            pollIntervalMs: (pollIntervalS ?? 60) * 1000,
            // Each poll's counts become the panel's "last poll" (kept in the queue across restarts).
            onPoll: (poll) => {
              recordWatchPoll(queuePath, poll);
              const outcome = poll.ok
                ? `${poll.found} found, ${poll.queued} queued${poll.requeued ? ` (${poll.requeued} again)` : ''}`
                : 'failed';
              onProgress({ done, total: 0, message: `${studiesDone()}; last poll: ${outcome}` });
            },
            onStudyDone: () => {
              done++;
              onProgress({ done, total: 0, message: studiesDone() });
            },
          });
        });
        const { polled, queued, requeued, processed, sent, failed } = summary;
        stopped = { outcome: 'stopped', polled, queued, requeued, processed, sent, failed };
        return summary;
      } catch (error) {
        if (error instanceof AppError && error.code === 'cancelled') stopped = { outcome: 'cancelled' };
        throw error;
      } finally {
        watches.delete(key);
        services.log.info('pacs.watch', { action: 'stop', ...logged, ...stopped });
      }
    },
  };
}
