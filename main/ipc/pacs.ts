// PACS channels: thin calls into the PACS service; retrieve, send and watch run as cancellable jobs.
import { localModelsDir } from '../app/paths.ts';
import type { Services } from '../app/services.ts';
import type { pacsChannels } from '../contract/pacs.ts';
import { processWith } from '../pacs/index.ts';
import type { DomainHandlers, JobCalls } from './jobs.ts';

export function pacsHandlers(services: Services, jobs: JobCalls): DomainHandlers<typeof pacsChannels> {
  const { pacs } = services;
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
    async pacsWatch({ jobId, id, node, query, since, pollIntervalS, once }, { emit }) {
      return jobs.run(jobId, emit, async (signal, onProgress) => {
        let done = 0;
        const process = processWith((input, s) => services.jobs.run('processImages', input, { signal: s }), {
          shippedDir: services.config.modelsDir,
          localDir: localModelsDir(services.config.dataDir),
        });
        return pacs.watch(id, {
          node,
          query,
          process,
          signal,
          ...(since ? { since } : {}),
          once: once ?? false,
          pollIntervalMs: (pollIntervalS ?? 60) * 1000,
          onStudyDone: () => onProgress({ done: ++done, total: 0, message: `${done} studies done` }),
        });
      });
    },
  };
}
