// The PACS service: connections (settings file + secret store), search, retrieve into the library,
// sending results back, and the department watch loop. Plain Node; the shell injects safeStorage.
import { join } from 'node:path';
import type { JobProgress } from '../jobs/types.ts';
import type { Library } from '../library/index.ts';
import { AppError } from '../util/errors.ts';
import { createPacsClient, type PacsClient, type Protocol } from './client.ts';
import {
  connectionsFile,
  type PacsConnection,
  parseConnection,
  readConnections,
  writeConnections,
} from './config.ts';
import { parseStudyQuery, type StudyQuery } from './query.ts';
import { type RetrieveResult, type RetrieveTarget, retrieveIntoLibrary } from './retrieve.ts';
import { fileSecretStore, type SecretCipher, type SecretStore } from './secrets.ts';
import { type SendItem, sendFiles } from './send.ts';
import { openWatchQueue } from './queue.ts';
import { type NodeShare, type ProcessImages, type WatchPoll, type WatchSummary, watch } from './watch.ts';

export type { PacsClient, Protocol } from './client.ts';
export type { PacsConnection, PacsConnectionInput } from './config.ts';
export { connectionSchema, parseConnection, readConnections } from './config.ts';
export type { InstanceRef, SeriesResult, StudyQuery, StudyResult } from './query.ts';
export { seriesResultSchema, studyQuerySchema, studyResultSchema } from './query.ts';
export type { RetrieveResult, RetrieveTarget } from './retrieve.ts';
export type { SecretCipher, SecretStore } from './secrets.ts';
export { fileSecretStore, memorySecretStore } from './secrets.ts';
export type { SendItem, SendStatus } from './send.ts';
export { isDerivedResultClass } from './send.ts';
export type { NodeShare, ProcessedImage, ProcessImages, WatchPoll, WatchSummary } from './watch.ts';
export {
  DEFAULT_LOOK_BACK_DAYS,
  daysBefore,
  parseNodeShare,
  pollFrom,
  shareOf,
  studyKey,
  watch as runWatch,
} from './watch.ts';
export { openWatchQueue } from './queue.ts';
export {
  type OutgoingPair,
  outgoingDerivedFiles,
  outgoingRoot,
  prepareOutgoing,
  type RunOutgoingProcess,
} from './outgoing.ts';
export {
  readWatchStatus,
  recordWatchPoll,
  type WatchQueueStatus,
  type WatchStudyState,
} from './watch-status.ts';

/**
 * Inference's processImages job as the watch loop calls it (the CLI and the app pass their job
 * runner's run('processImages', ...)); declared here so pacs does not reach into inference/batch.ts.
 */
export type RunProcessImages = (
  input: {
    files: string[];
    outDir: string;
    format: 'dicom';
    shippedDir: string;
    localDir?: string;
    modelId?: string;
  },
  signal: AbortSignal,
) => Promise<{
  items: (
    | { file: string; output?: string; report?: string }
    | { file: string; error: { code: string; message: string } }
  )[];
}>;

export interface PacsConnectionView extends PacsConnection {
  /** A password or token is stored (never returned). */
  hasSecret: boolean;
}

export interface PacsServiceOptions {
  dataDir: string;
  /** Needed by retrieve and watch only. */
  library?: Library;
  /** Electron safeStorage in the app; absent: a 0600 file (see secrets.ts). */
  cipher?: SecretCipher;
  /** Secrets from elsewhere (tests, a headless node's environment). */
  secrets?: SecretStore;
  /** A connections file other than <dataDir>/pacs/connections.json (the CLI's --config). */
  configFile?: string;
}

export interface PacsService {
  readonly secretProtection: SecretStore['protection'];
  listConnections(): PacsConnectionView[];
  /** Adds or replaces a connection; `secret`: a new password/token, null to delete it, undefined to keep it. */
  saveConnection(input: unknown, secret?: string | null): Promise<PacsConnectionView>;
  deleteConnection(id: string): Promise<void>;
  client(id: string, protocol?: Protocol): PacsClient;
  echo(
    id: string,
    options?: { protocol?: Protocol; signal?: AbortSignal },
  ): Promise<{ protocol: Protocol; ms: number }>;
  searchStudies(
    id: string,
    query: StudyQuery,
    signal?: AbortSignal,
  ): Promise<import('./query.ts').StudyResult[]>;
  searchSeries(
    id: string,
    studyInstanceUid: string,
    signal?: AbortSignal,
  ): Promise<import('./query.ts').SeriesResult[]>;
  retrieve(
    id: string,
    targets: RetrieveTarget[],
    options?: { signal?: AbortSignal; onProgress?: (p: JobProgress) => void; protocol?: Protocol },
  ): Promise<RetrieveResult[]>;
  send(
    id: string,
    paths: string[],
    options?: {
      signal?: AbortSignal;
      retries?: number;
      retryDelayMs?: number;
      protocol?: Protocol;
      onItem?: (item: SendItem, index: number) => void;
    },
  ): Promise<SendItem[]>;
  watch(
    id: string,
    options: {
      node: NodeShare;
      query: StudyQuery;
      process: ProcessImages;
      signal: AbortSignal;
      since?: string;
      /** Days behind the cursor each poll asks again (late arrivals); default 3. */
      lookBackDays?: number;
      once?: boolean;
      pollIntervalMs?: number;
      protocol?: Protocol;
      log?: (line: string) => void;
      onStudyDone?: (key: string) => void;
      onPoll?: (poll: WatchPoll) => void;
    },
  ): Promise<WatchSummary & { queue: string }>;
}

export function pacsPaths(dataDir: string) {
  const root = join(dataDir, 'pacs');
  return {
    root,
    connections: connectionsFile(dataDir),
    secrets: join(root, 'secrets.json'),
    staging: join(root, 'staging'),
    results: join(root, 'results'),
    queue: (id: string, node: NodeShare) => join(root, `watch-${id}-node${node.index}of${node.count}.sqlite`),
  };
}

/** Restore + classify through the app's job runner (inference's processImages, DICOM outputs). */
export function processWith(
  run: RunProcessImages,
  model: { shippedDir: string; localDir?: string; modelId?: string },
): ProcessImages {
  return async (files, outDir, signal) => {
    const { items } = await run({ files, outDir, format: 'dicom', ...model }, signal);
    return items.map((item) =>
      'error' in item
        ? { file: item.file, error: item.error }
        : { file: item.file, output: item.output, report: item.report },
    );
  };
}

export function createPacsService(options: PacsServiceOptions): PacsService {
  const paths = pacsPaths(options.dataDir);
  const configFile = options.configFile ?? paths.connections;
  const secrets = options.secrets ?? fileSecretStore(paths.secrets, options.cipher);
  const find = (id: string): PacsConnection => {
    const connection = readConnections(configFile).find((c) => c.id === id);
    if (!connection)
      throw new AppError(
        'not_found',
        `no PACS connection '${id}' (configure it in Settings or r2c pacs add)`,
      );
    return connection;
  };
  const secretOf = (id: string) =>
    process.env[`R2C_PACS_SECRET_${id.toUpperCase().replace(/-/g, '_')}`] ?? secrets.get(id);
  const client = (id: string, protocol?: Protocol) => createPacsClient(find(id), secretOf(id), protocol);
  const withClient = async <T>(
    id: string,
    protocol: Protocol | undefined,
    run: (c: PacsClient) => Promise<T>,
  ): Promise<T> => {
    const c = client(id, protocol);
    try {
      return await run(c);
    } finally {
      await c.close();
    }
  };
  const library = (): Library => {
    if (!options.library) throw new AppError('internal', 'the PACS service was created without a library');
    return options.library;
  };
  const view = (c: PacsConnection): PacsConnectionView => ({ ...c, hasSecret: secretOf(c.id) !== undefined });

  return {
    secretProtection: secrets.protection,
    listConnections: () => readConnections(configFile).map(view),
    async saveConnection(input, secret) {
      const connection = parseConnection(input);
      const others = readConnections(configFile).filter((c) => c.id !== connection.id);
      await writeConnections(configFile, [...others, connection]);
      if (secret === null) await secrets.delete(connection.id);
      else if (secret !== undefined) await secrets.set(connection.id, secret);
      return view(connection);
    },
    async deleteConnection(id) {
      const all = readConnections(configFile);
      if (!all.some((c) => c.id === id)) throw new AppError('not_found', `no PACS connection '${id}'`);
      await writeConnections(
        configFile,
        all.filter((c) => c.id !== id),
      );
      await secrets.delete(id);
    },
    client,
    echo: (id, o = {}) =>
      withClient(id, o.protocol, async (c) => {
        const started = performance.now();
        await c.echo(o.signal);
        return { protocol: c.protocol, ms: Math.round(performance.now() - started) };
      }),
    searchStudies: async (id, query, signal) => {
      const parsed = parseStudyQuery(query);
      return withClient(id, undefined, (c) => c.searchStudies(parsed, signal));
    },
    searchSeries: (id, uid, signal) => withClient(id, undefined, (c) => c.searchSeries(uid, signal)),
    retrieve: (id, targets, o = {}) =>
      withClient(id, o.protocol, async (c) => {
        const results: RetrieveResult[] = [];
        for (const [index, target] of targets.entries())
          results.push(
            await retrieveIntoLibrary({
              client: c,
              library: library(),
              stagingRoot: paths.staging,
              target,
              signal: o.signal,
              onProgress: (p) =>
                o.onProgress?.({
                  done: p.done,
                  total: p.total,
                  message: `study ${index + 1} of ${targets.length}: ${p.message ?? ''}`,
                }),
            }),
          );
        return results;
      }),
    send: (id, files, o = {}) => withClient(id, o.protocol, (c) => sendFiles(c, files, o)),
    async watch(id, o) {
      const queuePath = paths.queue(id, o.node);
      const { mkdirSync } = await import('node:fs');
      mkdirSync(paths.root, { recursive: true });
      const queue = openWatchQueue(queuePath);
      try {
        const summary = await withClient(id, o.protocol, (c) =>
          watch({
            client: c,
            library: library(),
            queue,
            stagingRoot: paths.staging,
            resultsRoot: paths.results,
            process: o.process,
            query: o.query,
            node: o.node,
            since: o.since,
            ...(o.lookBackDays !== undefined ? { lookBackDays: o.lookBackDays } : {}),
            once: o.once,
            pollIntervalMs: o.pollIntervalMs,
            signal: o.signal,
            log: o.log,
            onStudyDone: o.onStudyDone,
            ...(o.onPoll ? { onPoll: o.onPoll } : {}),
          }),
        );
        return { ...summary, queue: queuePath };
      } finally {
        queue.close();
      }
    },
  };
}
