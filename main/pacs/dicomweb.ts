// DICOMweb (QIDO-RS, WADO-RS, STOW-RS) over fetch. Why not dicomweb-client (the library OHIF uses):
// it is built on XMLHttpRequest, which Node (CLI, services, tests) does not have, and its multipart
// helpers are not exported from the package; so requests go through undici's fetch (an Agent gives
// us the custom CA and the connect/header/body timeouts) and the small multipart/related framing
// below (one instance per part, RFC 2387) is ours.
import { readFileSync } from 'node:fs';
import { Agent, fetch, type Response } from 'undici';
import { AppError, cancelledError } from '../util/errors.ts';
import type { PacsConnection } from './config.ts';
import {
  checkUid,
  dateRange,
  nameMatch,
  type InstanceRef,
  type SeriesResult,
  type StudyResult,
  type parseStudyQuery,
} from './query.ts';

type DicomWebSettings = NonNullable<PacsConnection['dicomweb']>;
type Query = ReturnType<typeof parseStudyQuery>;
type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

export interface DicomWebClient {
  echo(signal?: AbortSignal): Promise<void>;
  searchStudies(query: Query, signal?: AbortSignal): Promise<StudyResult[]>;
  searchSeries(studyInstanceUid: string, signal?: AbortSignal): Promise<SeriesResult[]>;
  listInstances(
    studyInstanceUid: string,
    seriesInstanceUid?: string,
    signal?: AbortSignal,
  ): Promise<InstanceRef[]>;
  /** Is this SOP Instance UID on the server? (idempotent sending) */
  hasInstance(studyInstanceUid: string, sopInstanceUid: string, signal?: AbortSignal): Promise<boolean>;
  /** The instance's Part 10 bytes, as stored (transfer-syntax=*). */
  retrieveInstance(ref: InstanceRef, signal?: AbortSignal): Promise<Uint8Array>;
  /** STOW-RS of one Part 10 file into its study. */
  store(bytes: Uint8Array, studyInstanceUid: string, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

const textValue = (json: DicomJson, tag: string): string => {
  const value = json[tag]?.Value?.[0];
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return String((value as { Alphabetic?: string }).Alphabetic ?? '');
  return String(value);
};
const numberValue = (json: DicomJson, tag: string): number | null => {
  const value = json[tag]?.Value?.[0];
  const n = typeof value === 'number' ? value : Number(value);
  return value === undefined || !Number.isFinite(n) ? null : n;
};
const listValue = (json: DicomJson, tag: string): string[] =>
  (json[tag]?.Value ?? []).map((v) => String(v)).filter(Boolean);

export function studyFromJson(json: DicomJson): StudyResult {
  return {
    studyInstanceUid: textValue(json, '0020000D'),
    patientName: textValue(json, '00100010'),
    patientId: textValue(json, '00100020'),
    accessionNumber: textValue(json, '00080050'),
    studyDate: textValue(json, '00080020'),
    studyDescription: textValue(json, '00081030'),
    modalities: listValue(json, '00080061'),
    numberOfSeries: numberValue(json, '00201206'),
    numberOfInstances: numberValue(json, '00201208'),
  };
}

/** Splits a multipart/related body into its parts' bodies. */
export function multipartParts(body: Uint8Array, contentType: string): Uint8Array[] {
  const match = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!match)
    throw new AppError(
      'integrity',
      `the PACS answered ${contentType.split(';')[0]} without a multipart boundary`,
    );
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${match[1]}`);
  const parts: Uint8Array[] = [];
  let at = buffer.indexOf(delimiter);
  if (at < 0) throw new AppError('integrity', 'the PACS answer holds no multipart part (truncated?)');
  for (;;) {
    const afterDelimiter = at + delimiter.length;
    if (buffer.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') return parts;
    const headersEnd = buffer.indexOf('\r\n\r\n', afterDelimiter);
    if (headersEnd < 0) throw new AppError('integrity', 'a multipart part of the PACS answer is truncated');
    const next = buffer.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headersEnd + 4);
    if (next < 0)
      throw new AppError('integrity', 'the PACS answer ended inside a part (connection dropped?)');
    parts.push(new Uint8Array(buffer.subarray(headersEnd + 4, next)));
    at = next + 2;
  }
}

export function multipartBody(parts: Uint8Array[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      Buffer.from(part),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** Maps a network failure to an 'unavailable' AppError that names the server and the cause, never the credentials. */
export function networkError(error: unknown, where: string, what: string, signal?: AbortSignal): AppError {
  if (error instanceof AppError) return error;
  if (signal?.aborted) return cancelledError(what);
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? (error as { code?: string })?.code ?? '';
  const reason: Record<string, string> = {
    ECONNREFUSED: 'connection refused (is the server running?)',
    ENOTFOUND: 'host not found',
    EHOSTUNREACH: 'host unreachable',
    ETIMEDOUT: 'connection timed out',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
    UND_ERR_HEADERS_TIMEOUT: 'the server did not answer in time',
    UND_ERR_BODY_TIMEOUT: 'the server stopped sending in the middle of an answer',
    UND_ERR_SOCKET: 'the connection dropped in the middle of the transfer',
    ECONNRESET: 'the connection was reset in the middle of the transfer',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's TLS certificate is not trusted (configure its CA file)",
    SELF_SIGNED_CERT_IN_CHAIN: "the server's TLS certificate is not trusted (configure its CA file)",
    DEPTH_ZERO_SELF_SIGNED_CERT:
      "the server's TLS certificate is self-signed and not trusted (configure its CA file)",
    ERR_TLS_CERT_ALTNAME_INVALID: "the server's TLS certificate does not name this host",
  };
  const text = reason[code] ?? (cause?.message || (error as Error)?.message || String(error));
  // The cause's text comes from the socket layer (host, port, TLS reason), never from our headers.
  return new AppError('unavailable', `PACS ${where} is unreachable while ${what}: ${text}`);
}

export function createDicomWebClient(connection: PacsConnection, secret: string | undefined): DicomWebClient {
  const settings: DicomWebSettings | undefined = connection.dicomweb;
  if (!settings)
    throw new AppError('bad_input', `PACS connection '${connection.id}' has no DICOMweb settings`);
  const base = settings.baseUrl.replace(/\/+$/, '');
  const where = `'${connection.name}' (${new URL(base).origin})`;
  let ca: string | undefined;
  if (settings.caFile) {
    try {
      ca = readFileSync(settings.caFile, 'utf8');
    } catch {
      throw new AppError(
        'bad_input',
        `the CA file of PACS connection '${connection.id}' cannot be read: ${settings.caFile}`,
      );
    }
  }
  const agent = new Agent({
    connect: { timeout: settings.timeoutMs, ...(ca ? { ca } : {}) },
    headersTimeout: settings.timeoutMs,
    bodyTimeout: settings.timeoutMs,
  });
  const headers: Record<string, string> = {};
  if (settings.auth === 'basic') {
    if (secret === undefined)
      throw new AppError('forbidden', `PACS ${where}: no password is stored for '${connection.id}'`);
    headers.authorization = `Basic ${Buffer.from(`${settings.username}:${secret}`).toString('base64')}`;
  } else if (settings.auth === 'bearer') {
    if (secret === undefined)
      throw new AppError('forbidden', `PACS ${where}: no token is stored for '${connection.id}'`);
    headers.authorization = `Bearer ${secret}`;
  }

  async function request(
    path: string,
    init: { method?: string; accept: string; body?: Buffer; contentType?: string },
    what: string,
    signal?: AbortSignal,
  ): Promise<{ response: Response; body: Uint8Array }> {
    if (signal?.aborted) throw cancelledError(what);
    try {
      const response = await fetch(`${base}${path}`, {
        method: init.method ?? 'GET',
        headers: {
          ...headers,
          accept: init.accept,
          ...(init.contentType ? { 'content-type': init.contentType } : {}),
        },
        body: init.body,
        dispatcher: agent,
        signal,
      });
      const body = new Uint8Array(await response.arrayBuffer());
      if (response.status === 401 || response.status === 403)
        throw new AppError(
          'forbidden',
          `PACS ${where} refused the credentials of '${connection.id}' (HTTP ${response.status}) while ${what}`,
        );
      if (response.status === 404)
        throw new AppError('not_found', `PACS ${where}: not found while ${what} (HTTP 404)`);
      if (!response.ok && response.status !== 204)
        throw new AppError('internal', `PACS ${where} answered HTTP ${response.status} while ${what}`);
      return { response, body };
    } catch (error) {
      throw networkError(error, where, what, signal);
    }
  }

  async function json(path: string, what: string, signal?: AbortSignal): Promise<DicomJson[]> {
    const { response, body } = await request(path, { accept: 'application/dicom+json' }, what, signal);
    if (response.status === 204 || body.length === 0) return [];
    try {
      const parsed = JSON.parse(Buffer.from(body).toString('utf8')) as unknown;
      if (!Array.isArray(parsed)) throw new Error('not an array');
      return parsed as DicomJson[];
    } catch {
      throw new AppError(
        'integrity',
        `PACS ${where} answered something that is not DICOM JSON while ${what}`,
      );
    }
  }

  async function searchStudies(q: Query, signal?: AbortSignal): Promise<StudyResult[]> {
    const params = (modality?: string) => {
      const p = new URLSearchParams();
      if (q.patientName) p.set('PatientName', nameMatch(q.patientName));
      if (q.patientId) p.set('PatientID', q.patientId);
      if (q.accessionNumber) p.set('AccessionNumber', q.accessionNumber);
      const dates = dateRange(q.dateFrom, q.dateTo);
      if (dates) p.set('StudyDate', dates);
      if (modality) p.set('ModalitiesInStudy', modality);
      for (const field of [
        '00081030',
        '00080061',
        '00201206',
        '00201208',
        '00100010',
        '00100020',
        '00080050',
      ])
        p.append('includefield', field);
      p.set('limit', String(q.limit + q.offset));
      // Orthanc's DICOMweb plugin matches a person name's '^' only when it is sent unescaped.
      return p.toString().replace(/%5E/gi, '^');
    };
    // One query per modality: a list in ModalitiesInStudy is not supported by every server.
    const lists = await Promise.all(
      (q.modalities?.length ? q.modalities : [undefined]).map((m) =>
        json(`/studies?${params(m)}`, 'searching studies', signal),
      ),
    );
    const seen = new Map<string, StudyResult>();
    for (const item of lists.flat()) {
      const study = studyFromJson(item);
      if (study.studyInstanceUid && !seen.has(study.studyInstanceUid))
        seen.set(study.studyInstanceUid, study);
    }
    let studies = [...seen.values()].sort(
      (a, b) =>
        b.studyDate.localeCompare(a.studyDate) || a.studyInstanceUid.localeCompare(b.studyInstanceUid),
    );
    if (q.bodyPart) {
      const wanted = q.bodyPart.toUpperCase();
      const keep: StudyResult[] = [];
      for (const study of studies) {
        const series = await searchSeries(study.studyInstanceUid, signal);
        if (series.some((s) => s.bodyPart.toUpperCase() === wanted)) keep.push(study);
      }
      studies = keep;
    }
    return studies.slice(q.offset, q.offset + q.limit);
  }

  async function searchSeries(studyInstanceUid: string, signal?: AbortSignal): Promise<SeriesResult[]> {
    checkUid(studyInstanceUid, 'Study Instance UID');
    const items = await json(
      `/studies/${studyInstanceUid}/series?includefield=00180015&includefield=0008103E&includefield=00201209`,
      'searching series',
      signal,
    );
    return items.map((s) => ({
      studyInstanceUid,
      seriesInstanceUid: textValue(s, '0020000E'),
      modality: textValue(s, '00080060'),
      seriesNumber: textValue(s, '00200011'),
      seriesDescription: textValue(s, '0008103E'),
      bodyPart: textValue(s, '00180015'),
      numberOfInstances: numberValue(s, '00201209'),
    }));
  }

  async function listInstances(studyInstanceUid: string, seriesInstanceUid?: string, signal?: AbortSignal) {
    checkUid(studyInstanceUid, 'Study Instance UID');
    if (seriesInstanceUid) checkUid(seriesInstanceUid, 'Series Instance UID');
    const path = seriesInstanceUid
      ? `/studies/${studyInstanceUid}/series/${seriesInstanceUid}/instances`
      : `/studies/${studyInstanceUid}/instances`;
    const items = await json(path, 'listing instances', signal);
    return items.map((i) => ({
      studyInstanceUid,
      seriesInstanceUid: textValue(i, '0020000E'),
      sopInstanceUid: textValue(i, '00080018'),
      sopClassUid: textValue(i, '00080016'),
    }));
  }

  return {
    async echo(signal) {
      await json('/studies?limit=1', 'checking the connection', signal);
    },
    searchStudies,
    searchSeries,
    listInstances,
    async hasInstance(studyInstanceUid, sopInstanceUid, signal) {
      checkUid(studyInstanceUid, 'Study Instance UID');
      checkUid(sopInstanceUid, 'SOP Instance UID');
      try {
        const found = await json(
          `/studies/${studyInstanceUid}/instances?SOPInstanceUID=${sopInstanceUid}`,
          'looking for a sent instance',
          signal,
        );
        return found.some((i) => textValue(i, '00080018') === sopInstanceUid);
      } catch (error) {
        if (error instanceof AppError && error.code === 'not_found' && /HTTP 404/.test(error.message))
          return false;
        throw error;
      }
    },
    async retrieveInstance(ref, signal) {
      for (const [uid, what] of [
        [ref.studyInstanceUid, 'Study Instance UID'],
        [ref.seriesInstanceUid, 'Series Instance UID'],
        [ref.sopInstanceUid, 'SOP Instance UID'],
      ] as const)
        checkUid(uid, what);
      const { response, body } = await request(
        `/studies/${ref.studyInstanceUid}/series/${ref.seriesInstanceUid}/instances/${ref.sopInstanceUid}`,
        { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
        'retrieving an instance',
        signal,
      );
      const parts = multipartParts(body, response.headers.get('content-type') ?? '');
      if (parts.length !== 1)
        throw new AppError('integrity', `PACS ${where} sent ${parts.length} parts for one instance`);
      return parts[0]!;
    },
    async store(bytes, studyInstanceUid, signal) {
      checkUid(studyInstanceUid, 'Study Instance UID');
      const boundary = `r2c-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
      const { body } = await request(
        `/studies/${studyInstanceUid}`,
        {
          method: 'POST',
          accept: 'application/dicom+json',
          contentType: `multipart/related; type="application/dicom"; boundary=${boundary}`,
          body: multipartBody([bytes], boundary),
        },
        'storing an instance',
        signal,
      );
      if (body.length > 0) {
        let answer: DicomJson | undefined;
        try {
          answer = JSON.parse(Buffer.from(body).toString('utf8')) as DicomJson;
        } catch {
          answer = undefined;
        }
        const failed = answer?.['00081198']?.Value ?? [];
        if (failed.length > 0) {
          const reason = (failed[0] as DicomJson)['00081197']?.Value?.[0];
          throw new AppError(
            'internal',
            `PACS ${where} refused the instance (failure reason ${String(reason ?? 'unknown')})`,
          );
        }
      }
    },
    close: () => agent.close(),
  };
}
