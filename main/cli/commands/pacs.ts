import { parseArgs } from 'node:util';
import { type AppJobs, threadTransport } from '../../app/jobs.ts';
import { localModelsDir, shippedModelsDir } from '../../app/paths.ts';
import { createJobRunner } from '../../jobs/runner.ts';
import { openLibrary } from '../../library/index.ts';
import { openReviewStore } from '../../review/index.ts';
import {
  createPacsService,
  type PacsService,
  parseNodeShare,
  processWith,
  type Protocol,
} from '../../pacs/index.ts';
import { AppError } from '../../util/errors.ts';
import { type CliCommand, type CliIo, parseUsage, UsageError } from '../command.ts';
import { commandDataDir } from '../data-folder.ts';
import { progressBar } from '../progress.ts';
import { sendStudyReports } from '../../app/study-reports.ts';

const usage = `r2c pacs <subcommand> [options]
  list                                   the configured connections (never their secrets)
  add --id <id> --name <name> [--dicomweb <url> [--auth none|basic|bearer] [--user <u>] [--ca <pem>]]
      [--dimse <host:port> --aet <ours> --called-aet <theirs> [--retrieve get|move] [--move-port <n>]]
      [--prefer dicomweb|dimse] [--timeout <s>] [--secret-env <VAR>]   add or replace a connection;
                                         the password/token is read from the environment variable VAR
  remove <id>                            delete a connection and its secret
  echo <id>                              C-ECHO (DIMSE) or a QIDO-RS request (DICOMweb)
  find <id> [--patient <name>] [--patient-id <id>] [--accession <n>] [--from YYYYMMDD] [--to YYYYMMDD]
            [--modality CR,DX] [--body-part CHEST] [--limit <n>]
  retrieve <id> <StudyInstanceUID>... [--series <SeriesInstanceUID>]   into the library
  send <id> <file>...                    send derived results (SC, SR) back; originals are refused
  send-study-sr <id> --study <reader study id>
                                         a CLOSED reader study's results, one SR per image the PACS
                                         holds (mean scores, preferences per variant; no reader names),
                                         into the image's study; sending again is reported already-stored
  watch <id> --node <k/n> [--modality CR,DX] [--body-part CHEST] [--since YYYYMMDD] [--interval <s>]
            [--look-back <days>] [--once] [--model <id>]
                                         poll, retrieve, restore + classify, send back (on-disk queue);
                                         each poll asks again <days> (default 3) behind the newest study
                                         date seen (late arrivals), and a done study whose instances grew
                                         is processed again for its new instances only
common: [--library <dir>] [--config <connections.json>] [--protocol dicomweb|dimse] [--json]
  --library: the data folder (default: the policy's, else $R2C_DATA_DIR, else the per-user folder);
  refused when the policy file fixes another one
secrets: R2C_PACS_SECRET_<ID> in the environment overrides the stored one (headless nodes).`;

const options = {
  library: { type: 'string' },
  config: { type: 'string' },
  protocol: { type: 'string' },
  json: { type: 'boolean' },
  id: { type: 'string' },
  name: { type: 'string' },
  dicomweb: { type: 'string' },
  auth: { type: 'string' },
  user: { type: 'string' },
  ca: { type: 'string' },
  dimse: { type: 'string' },
  aet: { type: 'string' },
  'called-aet': { type: 'string' },
  retrieve: { type: 'string' },
  'move-port': { type: 'string' },
  prefer: { type: 'string' },
  timeout: { type: 'string' },
  'secret-env': { type: 'string' },
  patient: { type: 'string' },
  'patient-id': { type: 'string' },
  accession: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  modality: { type: 'string' },
  'body-part': { type: 'string' },
  limit: { type: 'string' },
  series: { type: 'string' },
  node: { type: 'string' },
  since: { type: 'string' },
  interval: { type: 'string' },
  'look-back': { type: 'string' },
  once: { type: 'boolean' },
  model: { type: 'string' },
  study: { type: 'string' },
} as const;

type Values = ReturnType<typeof parse>['values'];
function parse(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options });
}

function protocolOf(values: Values): Protocol | undefined {
  const p = values.protocol;
  if (p === undefined) return undefined;
  if (p !== 'dicomweb' && p !== 'dimse')
    throw new UsageError(`--protocol must be dicomweb or dimse, got ${p}`);
  return p;
}

function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

function studyQuery(values: Values) {
  return {
    ...(values.patient ? { patientName: values.patient } : {}),
    ...(values['patient-id'] ? { patientId: values['patient-id'] } : {}),
    ...(values.accession ? { accessionNumber: values.accession } : {}),
    ...(values.from ? { dateFrom: values.from } : {}),
    ...(values.to ? { dateTo: values.to } : {}),
    ...(values.modality ? { modalities: values.modality.split(',').map((m) => m.trim().toUpperCase()) } : {}),
    ...(values['body-part'] ? { bodyPart: values['body-part'] } : {}),
    ...(values.limit ? { limit: intOption(values.limit, 'limit', 1, 1000) } : {}),
  };
}

async function add(pacs: PacsService, values: Values, io: CliIo): Promise<number> {
  if (!values.id || !values.name) throw new UsageError('add needs --id and --name');
  const timeoutMs = (intOption(values.timeout, 'timeout', 1, 600) ?? 30) * 1000;
  let dimse: Record<string, unknown> | undefined;
  if (values.dimse) {
    const match = /^(.+):(\d+)$/.exec(values.dimse);
    if (!match) throw new UsageError('--dimse is host:port');
    dimse = {
      host: match[1],
      port: Number(match[2]),
      callingAet: values.aet ?? 'R2C',
      calledAet: values['called-aet'] ?? 'ANY-SCP',
      retrieve: values.retrieve ?? 'get',
      ...(values['move-port'] ? { movePort: intOption(values['move-port'], 'move-port', 1, 65535) } : {}),
      timeoutMs,
    };
  }
  const dicomweb = values.dicomweb
    ? {
        baseUrl: values.dicomweb,
        auth: values.auth ?? 'none',
        ...(values.user ? { username: values.user } : {}),
        ...(values.ca ? { caFile: values.ca } : {}),
        timeoutMs,
      }
    : undefined;
  let secret: string | undefined;
  if (values['secret-env']) {
    secret = process.env[values['secret-env']];
    if (secret === undefined)
      throw new UsageError(`the environment variable ${values['secret-env']} is not set`);
  }
  const saved = await pacs.saveConnection(
    {
      id: values.id,
      name: values.name,
      ...(dicomweb ? { dicomweb } : {}),
      ...(dimse ? { dimse } : {}),
      ...(values.prefer ? { prefer: values.prefer } : {}),
    },
    secret,
  );
  if (secret !== undefined && pacs.secretProtection === 'file-permissions')
    io.err(
      'r2c: note: outside the app the secret is kept in a file readable only by you (mode 0600), not in the OS key store',
    );
  io.out(values.json ? JSON.stringify(saved) : `saved PACS connection '${saved.id}'`);
  return 0;
}

export const pacsCommand: CliCommand = {
  name: 'pacs',
  summary: 'Query and retrieve from a PACS, send results back, and process a PACS query unattended (watch)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseUsage(() => parse(argv));
    const [sub, id, ...rest] = positionals;
    if (!sub) throw new UsageError('no subcommand given');
    // --library only where the admin's policy does not fix the data folder (as r2c import).
    const dataDir = commandDataDir(values.library);
    const needsLibrary = sub === 'retrieve' || sub === 'watch' || sub === 'send-study-sr';
    const library = needsLibrary ? openLibrary({ dataDir }) : undefined;
    const pacs = createPacsService({
      dataDir,
      // Only retrieve and watch touch the library; the others never open it.
      ...(library ? { library } : {}),
      ...(values.config ? { configFile: values.config } : {}),
    });
    const protocol = protocolOf(values);
    const print = (value: unknown, text: () => void) =>
      values.json ? io.out(JSON.stringify(value)) : text();
    try {
      switch (sub) {
        case 'list': {
          const list = pacs.listConnections();
          print(list, () => {
            if (list.length === 0) io.out('no PACS connections (add one with r2c pacs add)');
            for (const c of list)
              io.out(
                `${c.id}\t${c.name}\t${[c.dicomweb ? `dicomweb ${c.dicomweb.baseUrl}` : '', c.dimse ? `dimse ${c.dimse.calledAet}@${c.dimse.host}:${c.dimse.port}` : ''].filter(Boolean).join(', ')}${c.hasSecret ? '\t(secret stored)' : ''}`,
              );
          });
          return 0;
        }
        case 'add':
          return await add(pacs, values, io);
        case 'remove':
          if (!id) throw new UsageError('remove needs a connection id');
          await pacs.deleteConnection(id);
          io.out(`removed PACS connection '${id}'`);
          return 0;
        case 'echo': {
          if (!id) throw new UsageError('echo needs a connection id');
          const result = await pacs.echo(id, { protocol, signal: io.signal });
          print(result, () => io.out(`${id}: ${result.protocol} answered in ${result.ms} ms`));
          return 0;
        }
        case 'find': {
          if (!id) throw new UsageError('find needs a connection id');
          const studies = await pacs.searchStudies(id, studyQuery(values), io.signal);
          if (values.json) for (const s of studies) io.out(JSON.stringify(s));
          else {
            for (const s of studies)
              io.out(
                `${s.studyDate || '--------'}  ${s.modalities.join('/').padEnd(6)} ${s.accessionNumber.padEnd(12)} ${s.patientId.padEnd(12)} ${s.studyInstanceUid}`,
              );
            io.err(`${studies.length} studies`);
          }
          return 0;
        }
        case 'retrieve': {
          if (!id || rest.length === 0)
            throw new UsageError('retrieve needs a connection id and Study Instance UIDs');
          if (values.series && rest.length !== 1)
            throw new UsageError('--series goes with exactly one study');
          const bar = values.json ? undefined : progressBar(io, 'retrieving');
          try {
            const results = await pacs.retrieve(
              id,
              rest.map((uid) => ({
                studyInstanceUid: uid,
                ...(values.series ? { seriesInstanceUid: values.series } : {}),
              })),
              {
                signal: io.signal,
                protocol,
                onProgress: (p) => bar?.update(p.done, p.total, p.message ?? ''),
              },
            );
            bar?.finish();
            for (const r of results)
              print(r, () =>
                io.out(
                  `${r.studyInstanceUid}: ${r.instances} instances (${r.resumed} resumed), ${r.added} added, ${r.duplicates} already in the library, ${r.failed.length} failed`,
                ),
              );
            return results.some((r) => r.failed.length > 0) ? 1 : 0;
          } finally {
            bar?.finish();
          }
        }
        case 'send': {
          if (!id || rest.length === 0) throw new UsageError('send needs a connection id and files');
          const items = await pacs.send(id, rest, { signal: io.signal, protocol });
          for (const item of items)
            print(item, () =>
              io.out(`${item.status.padEnd(14)} ${item.file}${item.error ? `: ${item.error.message}` : ''}`),
            );
          return items.every((i) => i.status === 'sent' || i.status === 'already-stored') ? 0 : 1;
        }
        case 'send-study-sr': {
          if (!id || !values.study)
            throw new UsageError('send-study-sr needs a connection id and --study <id>');
          const review = openReviewStore({ dataDir });
          try {
            const items = await sendStudyReports({
              pacs,
              connectionId: id,
              library: library!,
              review,
              studyId: values.study,
              dataDir,
              signal: io.signal,
              ...(protocol ? { protocol } : {}),
              onItem: (item) =>
                print(item, () =>
                  io.out(
                    `${item.status.padEnd(14)} image ${item.imageId}${item.status === 'not-on-pacs' ? ': the PACS does not hold this image; no report sent' : ''}${item.error ? `: ${item.error.message}` : ''}`,
                  ),
                ),
            });
            const failed = items.filter((i) => i.status === 'failed' || i.status === 'refused').length;
            const sent = items.filter((i) => i.status === 'sent' || i.status === 'already-stored').length;
            if (!values.json)
              io.err(
                `${sent} report(s) on the PACS, ${failed} failed, ${items.length - sent - failed} skipped`,
              );
            return failed > 0 ? 1 : 0;
          } finally {
            review.close();
          }
        }
        case 'watch': {
          if (!id) throw new UsageError('watch needs a connection id');
          if (!values.node) throw new UsageError('watch needs --node k/n (1/1 for a single node)');
          const node = parseNodeShare(values.node);
          const interval = intOption(values.interval, 'interval', 1, 86_400) ?? 60;
          const lookBackDays = intOption(values['look-back'], 'look-back', 0, 3650);
          const runner = createJobRunner<AppJobs>(threadTransport);
          try {
            const process = processWith((input, signal) => runner.run('processImages', input, { signal }), {
              shippedDir: shippedModelsDir(),
              localDir: localModelsDir(dataDir),
              ...(values.model ? { modelId: values.model } : {}),
            });
            const query = studyQuery(values);
            const summary = await pacs.watch(id, {
              node,
              query: { modalities: ['CR', 'DX'], ...query },
              process,
              signal: io.signal,
              ...(values.since ? { since: values.since } : {}),
              ...(lookBackDays !== undefined ? { lookBackDays } : {}),
              once: values.once ?? false,
              pollIntervalMs: interval * 1000,
              protocol,
              log: (line) => io.err(`r2c pacs watch ${node.index}/${node.count}: ${line}`),
            });
            print(summary, () =>
              io.out(
                `polled ${summary.polled}x, ${summary.queued} queued (${summary.requeued} for instances that arrived later), ${summary.processed} processed, ${summary.sent} results sent, ${summary.failed} failed (queue ${summary.queue})`,
              ),
            );
            return summary.failed > 0 ? 1 : 0;
          } finally {
            await runner.close();
          }
        }
        default:
          throw new UsageError(`unknown subcommand '${sub}'`);
      }
    } catch (error) {
      if (error instanceof AppError && error.code !== 'cancelled') {
        io.err(`r2c pacs ${sub}: ${error.message}`);
        return 1;
      }
      throw error;
    } finally {
      await library?.close();
    }
  },
};
