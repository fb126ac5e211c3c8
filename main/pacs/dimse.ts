// Classic DIMSE (C-ECHO, C-FIND, C-GET / C-MOVE, C-STORE) through dcmtk's command-line tools, spawned
// per operation. Why dcmtk rather than an npm DIMSE library: dcmtk is the reference implementation,
// packaged by Debian and macOS/Windows installers, and its SCUs handle association negotiation,
// transfer-syntax fallbacks and the storage SCP side of C-GET/C-MOVE; dcmjs-dimse (the one npm
// option) is maintained by one person and would put a second DICOM network stack in the app. The
// tools must be on PATH (scripts/install.sh installs the Debian package `dcmtk`).
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDicomBytes } from '../dicom/index.ts';
import { AppError, cancelledError } from '../util/errors.ts';
import type { PacsConnection } from './config.ts';
import {
  checkUid,
  dateRange,
  nameMatch,
  type InstanceRef,
  type parseStudyQuery,
  type SeriesResult,
  type StudyResult,
} from './query.ts';

type Query = ReturnType<typeof parseStudyQuery>;
type DimseSettings = NonNullable<PacsConnection['dimse']>;

interface ToolResult {
  code: number | null;
  output: string;
}

function runTool(
  tool: string,
  args: string[],
  what: string,
  signal?: AbortSignal,
  timeoutMs = 600_000,
): Promise<ToolResult> {
  if (signal?.aborted) return Promise.reject(cancelledError(what));
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-200_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const abort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', abort, { once: true });
    const timer = setTimeout(() => {
      output += `\n(r2c: ${tool} ran past ${Math.round(timeoutMs / 1000)} s and was stopped)`;
      child.kill('SIGTERM');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      reject(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? new AppError(
              'unsupported',
              `dcmtk's ${tool} is not installed (needed for DIMSE; install the dcmtk package)`,
            )
          : error,
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      if (signal?.aborted) reject(cancelledError(what));
      else resolve({ code, output });
    });
  });
}

/** A dcmtk failure as an AppError: unreachable, refused association, or the tool's own words. */
function toolError(result: ToolResult, where: string, what: string): AppError {
  const out = result.output;
  if (
    /Connection refused|No route to host|Name or service not known|Connection timed out|TCP Initialization Error/i.test(
      out,
    )
  )
    return new AppError(
      'unavailable',
      `PACS ${where} is unreachable while ${what}: ${/Connection refused/i.test(out) ? 'connection refused (is the server running?)' : /timed out/i.test(out) ? 'connection timed out' : /Name or service not known/i.test(out) ? 'host not found' : /No route to host/i.test(out) ? 'host unreachable' : 'no connection'}`,
    );
  if (/Association Rejected|Association Request Failed/i.test(out))
    return new AppError(
      'forbidden',
      `PACS ${where} rejected the association while ${what} (check the AE titles and that the PACS knows our AE)`,
    );
  if (/Peer aborted Association|Network connection closed|Association Aborted/i.test(out))
    return new AppError('unavailable', `PACS ${where}: the connection dropped in the middle of ${what}`);
  const last = out
    .split('\n')
    .filter((l) => /^[EF]: /.test(l))
    .slice(-1)[0]
    ?.replace(/^[EF]: /, '');
  return new AppError(
    'internal',
    `PACS ${where}: ${what} failed${last ? `: ${last}` : ` (exit code ${result.code})`}`,
  );
}

const text = (dataSet: ReturnType<typeof parseDicomBytes>['dataSet'], tag: string): string =>
  (dataSet.string(tag) ?? '').trim();

export interface DimseClient {
  echo(signal?: AbortSignal): Promise<void>;
  searchStudies(query: Query, signal?: AbortSignal): Promise<StudyResult[]>;
  searchSeries(studyInstanceUid: string, signal?: AbortSignal): Promise<SeriesResult[]>;
  listInstances(
    studyInstanceUid: string,
    seriesInstanceUid?: string,
    signal?: AbortSignal,
  ): Promise<InstanceRef[]>;
  hasInstance(studyInstanceUid: string, sopInstanceUid: string, signal?: AbortSignal): Promise<boolean>;
  /** C-GET (or C-MOVE to our SCP) of a study, a series or one instance into `dir`. */
  retrieveInto(
    dir: string,
    target: { studyInstanceUid: string; seriesInstanceUid?: string; sopInstanceUid?: string },
    signal?: AbortSignal,
  ): Promise<void>;
  store(file: string, signal?: AbortSignal): Promise<void>;
}

export function createDimseClient(connection: PacsConnection): DimseClient {
  const configured: DimseSettings | undefined = connection.dimse;
  if (!configured)
    throw new AppError('bad_input', `PACS connection '${connection.id}' has no DIMSE settings`);
  const settings: DimseSettings = configured;
  const where = `'${connection.name}' (${settings.host}:${settings.port})`;
  const seconds = String(Math.max(1, Math.round(settings.timeoutMs / 1000)));
  const common = [
    '-aet',
    settings.callingAet,
    '-aec',
    settings.calledAet,
    '-to',
    seconds,
    '-ta',
    seconds,
    '-td',
    seconds,
  ];
  const peer = [settings.host, String(settings.port)];

  async function find(
    level: 'STUDY' | 'SERIES' | 'IMAGE',
    keys: Record<string, string>,
    what: string,
    signal?: AbortSignal,
  ) {
    const dir = await mkdtemp(join(tmpdir(), 'r2c-findscu-'));
    try {
      const args = ['-S', ...common, '-k', `QueryRetrieveLevel=${level}`];
      for (const [key, value] of Object.entries(keys)) args.push('-k', `${key}=${value}`);
      const result = await runTool(
        'findscu',
        [...args, '-X', '-od', dir, ...peer],
        what,
        signal,
        settings.timeoutMs * 4,
      );
      if (result.code !== 0) throw toolError(result, where, what);
      const files = (await readdir(dir)).filter((f) => /^rsp\d+\.dcm$/.test(f)).sort();
      return Promise.all(
        files.map(async (f) => parseDicomBytes(new Uint8Array(await readFile(join(dir, f)))).dataSet),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function searchSeries(studyInstanceUid: string, signal?: AbortSignal): Promise<SeriesResult[]> {
    checkUid(studyInstanceUid, 'Study Instance UID');
    const found = await find(
      'SERIES',
      {
        StudyInstanceUID: studyInstanceUid,
        SeriesInstanceUID: '',
        Modality: '',
        SeriesNumber: '',
        SeriesDescription: '',
        BodyPartExamined: '',
        NumberOfSeriesRelatedInstances: '',
      },
      'searching series',
      signal,
    );
    return found.map((d) => ({
      studyInstanceUid,
      seriesInstanceUid: text(d, 'x0020000e'),
      modality: text(d, 'x00080060'),
      seriesNumber: text(d, 'x00200011'),
      seriesDescription: text(d, 'x0008103e'),
      bodyPart: text(d, 'x00180015'),
      numberOfInstances: text(d, 'x00201209') ? Number(text(d, 'x00201209')) : null,
    }));
  }

  return {
    async echo(signal) {
      const result = await runTool('echoscu', [...common, ...peer], 'C-ECHO', signal, settings.timeoutMs * 4);
      if (result.code !== 0) throw toolError(result, where, 'C-ECHO');
    },
    async searchStudies(q, signal) {
      const keys = (modality?: string): Record<string, string> => ({
        StudyInstanceUID: '',
        PatientName: q.patientName ? nameMatch(q.patientName) : '',
        PatientID: q.patientId ?? '',
        AccessionNumber: q.accessionNumber ?? '',
        StudyDate: dateRange(q.dateFrom, q.dateTo) ?? '',
        StudyDescription: '',
        ModalitiesInStudy: modality ?? '',
        NumberOfStudyRelatedSeries: '',
        NumberOfStudyRelatedInstances: '',
      });
      const lists = await Promise.all(
        (q.modalities?.length ? q.modalities : [undefined]).map((m) =>
          find('STUDY', keys(m), 'searching studies', signal),
        ),
      );
      const seen = new Map<string, StudyResult>();
      for (const d of lists.flat()) {
        const uid = text(d, 'x0020000d');
        if (!uid || seen.has(uid)) continue;
        const count = (tag: string) => (text(d, tag) ? Number(text(d, tag)) : null);
        seen.set(uid, {
          studyInstanceUid: uid,
          patientName: text(d, 'x00100010'),
          patientId: text(d, 'x00100020'),
          accessionNumber: text(d, 'x00080050'),
          studyDate: text(d, 'x00080020'),
          studyDescription: text(d, 'x00081030'),
          modalities: text(d, 'x00080061').split('\\').filter(Boolean),
          numberOfSeries: count('x00201206'),
          numberOfInstances: count('x00201208'),
        });
      }
      let studies = [...seen.values()].sort(
        (a, b) =>
          b.studyDate.localeCompare(a.studyDate) || a.studyInstanceUid.localeCompare(b.studyInstanceUid),
      );
      if (q.bodyPart) {
        const wanted = q.bodyPart.toUpperCase();
        const keep: StudyResult[] = [];
        for (const study of studies)
          if (
            (await searchSeries(study.studyInstanceUid, signal)).some(
              (s) => s.bodyPart.toUpperCase() === wanted,
            )
          )
            keep.push(study);
        studies = keep;
      }
      return studies.slice(q.offset, q.offset + q.limit);
    },
    searchSeries,
    async listInstances(studyInstanceUid, seriesInstanceUid, signal) {
      checkUid(studyInstanceUid, 'Study Instance UID');
      if (seriesInstanceUid) checkUid(seriesInstanceUid, 'Series Instance UID');
      const found = await find(
        'IMAGE',
        {
          StudyInstanceUID: studyInstanceUid,
          SeriesInstanceUID: seriesInstanceUid ?? '',
          SOPInstanceUID: '',
          SOPClassUID: '',
        },
        'listing instances',
        signal,
      );
      return found.map((d) => ({
        studyInstanceUid,
        seriesInstanceUid: text(d, 'x0020000e'),
        sopInstanceUid: text(d, 'x00080018'),
        sopClassUid: text(d, 'x00080016'),
      }));
    },
    async hasInstance(studyInstanceUid, sopInstanceUid, signal) {
      checkUid(studyInstanceUid, 'Study Instance UID');
      checkUid(sopInstanceUid, 'SOP Instance UID');
      const found = await find(
        'IMAGE',
        { StudyInstanceUID: studyInstanceUid, SeriesInstanceUID: '', SOPInstanceUID: sopInstanceUid },
        'looking for a sent instance',
        signal,
      );
      return found.some((d) => text(d, 'x00080018') === sopInstanceUid);
    },
    async retrieveInto(dir, target, signal) {
      checkUid(target.studyInstanceUid, 'Study Instance UID');
      const level = target.sopInstanceUid ? 'IMAGE' : target.seriesInstanceUid ? 'SERIES' : 'STUDY';
      const keys = ['-k', `QueryRetrieveLevel=${level}`, '-k', `StudyInstanceUID=${target.studyInstanceUid}`];
      if (target.seriesInstanceUid)
        keys.push('-k', `SeriesInstanceUID=${checkUid(target.seriesInstanceUid, 'Series Instance UID')}`);
      if (target.sopInstanceUid)
        keys.push('-k', `SOPInstanceUID=${checkUid(target.sopInstanceUid, 'SOP Instance UID')}`);
      const what = settings.retrieve === 'move' ? 'C-MOVE' : 'C-GET';
      const args =
        settings.retrieve === 'move'
          ? [
              '-S',
              ...common,
              '-aem',
              settings.callingAet,
              '--port',
              String(settings.movePort),
              '+xa',
              ...keys,
              '-od',
              dir,
              ...peer,
            ]
          : ['-S', ...common, ...keys, '-od', dir, ...peer];
      const result = await runTool(
        settings.retrieve === 'move' ? 'movescu' : 'getscu',
        args,
        what,
        signal,
        settings.timeoutMs * 20,
      );
      if (result.code !== 0) throw toolError(result, where, what);
    },
    async store(file, signal) {
      const result = await runTool(
        'storescu',
        ['-v', ...common, ...peer, file],
        'C-STORE',
        signal,
        settings.timeoutMs * 4,
      );
      const status = /Received Store Response \(([^)]*)\)/.exec(result.output)?.[1];
      if (result.code !== 0 || !status) throw toolError(result, where, 'C-STORE');
      if (!/^(Success|Warning)/i.test(status))
        throw new AppError('internal', `PACS ${where} refused the instance: ${status}`);
    },
  };
}
