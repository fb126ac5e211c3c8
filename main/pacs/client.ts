// One PACS client over either protocol: queries and retrieves use the connection's preferred protocol,
// sending uses STOW-RS or C-STORE.
import { AppError } from '../util/errors.ts';
import type { PacsConnection } from './config.ts';
import { createDicomWebClient, type DicomWebClient } from './dicomweb.ts';
import { createDimseClient, type DimseClient } from './dimse.ts';
import type { InstanceRef, parseStudyQuery, SeriesResult, StudyResult } from './query.ts';

export type Protocol = 'dicomweb' | 'dimse';

export interface PacsClient {
  readonly connection: PacsConnection;
  readonly protocol: Protocol;
  echo(signal?: AbortSignal): Promise<void>;
  searchStudies(query: ReturnType<typeof parseStudyQuery>, signal?: AbortSignal): Promise<StudyResult[]>;
  searchSeries(studyInstanceUid: string, signal?: AbortSignal): Promise<SeriesResult[]>;
  listInstances(
    studyInstanceUid: string,
    seriesInstanceUid?: string,
    signal?: AbortSignal,
  ): Promise<InstanceRef[]>;
  hasInstance(studyInstanceUid: string, sopInstanceUid: string, signal?: AbortSignal): Promise<boolean>;
  /** Exactly one of the two is set, after the protocol. */
  readonly dicomweb?: DicomWebClient;
  readonly dimse?: DimseClient;
  close(): Promise<void>;
}

export function createPacsClient(
  connection: PacsConnection,
  secret: string | undefined,
  protocol?: Protocol,
): PacsClient {
  const use =
    protocol ??
    (connection[connection.prefer] ? connection.prefer : connection.dicomweb ? 'dicomweb' : 'dimse');
  if (!connection[use])
    throw new AppError('bad_input', `PACS connection '${connection.id}' has no ${use} settings`);
  const api = use === 'dicomweb' ? createDicomWebClient(connection, secret) : createDimseClient(connection);
  return {
    connection,
    protocol: use,
    echo: (s) => api.echo(s),
    searchStudies: (q, s) => api.searchStudies(q, s),
    searchSeries: (uid, s) => api.searchSeries(uid, s),
    listInstances: (study, series, s) => api.listInstances(study, series, s),
    hasInstance: (study, sop, s) => api.hasInstance(study, sop, s),
    ...(use === 'dicomweb' ? { dicomweb: api as DicomWebClient } : { dimse: api as DimseClient }),
    close: async () => {
      if (use === 'dicomweb') await (api as DicomWebClient).close();
    },
  };
}
