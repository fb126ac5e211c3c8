import { parseArgs } from 'node:util';
import { readImageFile } from '../../data/input/index.ts';
import { type DicomHeader, readDicomHeader } from '../../dicom/index.ts';
import { type CliCommand, UsageError } from '../command.ts';

/** Attributes that identify the patient or the study; shown only with --show-phi. */
const phiFields = [
  'patientId',
  'patientName',
  'patientBirthDate',
  'patientSex',
  'accessionNumber',
  'studyId',
  'referringPhysicianName',
  'studyDate',
  'studyTime',
  'studyDescription',
  'seriesDescription',
  'studyInstanceUid',
  'seriesInstanceUid',
  'sopInstanceUid',
] as const satisfies readonly (keyof DicomHeader)[];

export function infoSummary(header: DicomHeader, showPhi: boolean): Record<string, unknown> {
  const summary: Record<string, unknown> = { ...header };
  if (!showPhi) for (const field of phiFields) delete summary[field];
  return summary;
}

function textLines(path: string, header: DicomHeader, showPhi: boolean): string[] {
  const h = header;
  const hidden = '(hidden; use --show-phi)';
  const phi = (value: string | undefined) => (showPhi ? (value ?? '—') : hidden);
  const windows = h.windows.map((w) => `${w.center}/${w.width}${w.explanation ? ` (${w.explanation})` : ''}`);
  return [
    `${path}`,
    `  patient             ${phi(h.patientName)}  id ${phi(h.patientId)}  born ${phi(h.patientBirthDate)}  sex ${phi(h.patientSex)}`,
    `  study               ${phi(h.studyDate)} ${showPhi ? (h.studyTime ?? '') : ''} accession ${phi(h.accessionNumber)}`,
    `  study UID           ${phi(h.studyInstanceUid)}`,
    `  series UID          ${phi(h.seriesInstanceUid)}`,
    `  instance UID        ${phi(h.sopInstanceUid)}`,
    `  SOP class           ${h.sopClassUid || '—'}`,
    `  modality            ${h.modality ?? '—'}${h.bodyPartExamined ? `  body part ${h.bodyPartExamined}` : ''}${h.viewPosition ? `  view ${h.viewPosition}` : ''}`,
    `  size                ${h.columns} x ${h.rows}${h.numberOfFrames > 1 ? `, ${h.numberOfFrames} frames` : ''}`,
    `  bits                allocated ${h.bitsAllocated}, stored ${h.bitsStored}, ${h.pixelRepresentation ? 'signed' : 'unsigned'}`,
    `  photometric         ${h.photometricInterpretation || '—'}${h.samplesPerPixel > 1 ? ` (${h.samplesPerPixel} samples)` : ''}`,
    `  transfer syntax     ${h.transferSyntaxName} [${h.transferSyntaxUid}]${h.hasFileMeta ? '' : ' (no file meta; guessed)'}`,
    `  rescale             ${h.hasModalityLutSequence ? 'Modality LUT Sequence' : `slope ${h.rescaleSlope ?? 1}, intercept ${h.rescaleIntercept ?? 0}`}`,
    `  VOI                 ${windows.length ? windows.join(', ') : h.hasVoiLutSequence ? 'VOI LUT Sequence' : 'none (min/max)'}${h.voiLutFunction !== 'LINEAR' ? ` ${h.voiLutFunction}` : ''}`,
    `  decodable           ${h.decodable.ok ? 'yes' : `no: ${h.decodable.reason}`}`,
  ];
}

export const infoCommand: CliCommand = {
  name: 'info',
  summary: 'DICOM header summary (patient data and UIDs hidden unless --show-phi)',
  usage: 'r2c info <files...> [--json] [--show-phi]',
  async run(argv, io) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean' }, 'show-phi': { type: 'boolean' } },
    });
    if (positionals.length === 0) throw new UsageError('no files given');
    const showPhi = values['show-phi'] === true;
    let failed = 0;
    for (const path of positionals) {
      try {
        // First bytes first: a junk or huge non-DICOM file is refused without reading it whole.
        const header = readDicomHeader((await readImageFile(path, { accept: ['dicom'] })).bytes);
        if (values.json) io.out(JSON.stringify({ path, ...infoSummary(header, showPhi) }));
        else for (const line of textLines(path, header, showPhi)) io.out(line);
      } catch (error) {
        failed += 1;
        const message = error instanceof Error ? error.message : String(error);
        if (values.json) io.out(JSON.stringify({ path, error: message }));
        else io.err(`${path}: ${message}`);
      }
    }
    return failed > 0 ? 1 : 0;
  },
};
