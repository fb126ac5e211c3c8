// What "Send to PACS" sends for an analysed library image: its derived restored image (Secondary
// Capture) and its classification (Comprehensive SR), written by inference's processImages job from
// the original (read only) with the analysis' model, passes and intended-use override. The pair is
// kept under <dataDir>/pacs/outgoing, keyed by the original's and the model file's SHA-256, so a
// resend or Retry sends the same SOP Instance UIDs and the PACS answers "already stored".
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DerivedFiles, Library } from '../library/index.ts';
import { AppError, type ErrorCode, errorCodes } from '../util/errors.ts';

/** Inference's processImages as the app's job runner runs it (format dicom: one SC + one SR per file). */
export type RunOutgoingProcess = (
  input: {
    files: string[];
    outDir: string;
    format: 'dicom';
    shippedDir: string;
    localDir?: string;
    modelId?: string;
    passes?: number;
    overrideIntendedUse?: { by: string; reason?: string };
  },
  signal: AbortSignal,
) => Promise<{
  items: (
    | { file: string; output?: string; report?: string }
    | { file: string; error: { code: string; message: string } }
  )[];
}>;

export interface OutgoingPair {
  instanceId: number;
  modelId: string;
  /** The restored image (Secondary Capture). */
  sc: string;
  /** The classification (Comprehensive SR). */
  sr: string;
  /** Made now (false: the pair made for an earlier send). */
  created: boolean;
}

/** The parts of a stored analysis record (viewer/jobs.ts AnalysisRecord) the outgoing pair follows. */
interface StoredAnalysis {
  model?: { sha256?: string };
  passes?: number;
  intendedUse?: { override?: { by: string; reason?: string } };
}

const MANIFEST = 'outgoing.json';

/** <dataDir>/pacs/outgoing */
export const outgoingRoot = (dataDir: string) => join(dataDir, 'pacs', 'outgoing');

/** A pair's folder (and a staging folder beside it) starts with the original's SHA-256 prefix. */
const SHA_PREFIX = /^([0-9a-f]{16})-/;

/**
 * The outgoing pairs as files derived from library images: they hold the patient's data, so they go
 * when the image goes from the library (deleted by hand or by retention).
 */
export function outgoingDerivedFiles(dataDir: string): DerivedFiles {
  const root = outgoingRoot(dataDir);
  const names = () => {
    try {
      return readdirSync(root);
    } catch {
      return [];
    }
  };
  const remove = (name: string) => rmSync(join(root, name), { recursive: true, force: true });
  return {
    removeFor(sha256) {
      const prefix = `${sha256.slice(0, 16)}-`;
      const gone = names().filter((n) => n.startsWith(prefix));
      for (const name of gone) remove(name);
      return gone.length;
    },
    sweep(inLibrary) {
      let swept = 0;
      for (const name of names()) {
        const prefix = SHA_PREFIX.exec(name)?.[1];
        if (prefix === undefined || inLibrary(prefix)) continue;
        remove(name);
        swept++;
      }
      return swept;
    },
  };
}

/**
 * The SC + SR of `instanceId`'s analysis by `modelId` (default: its latest analysis), made once.
 * Throws bad_input when the image has not been analysed.
 */
export async function prepareOutgoing(options: {
  library: Library;
  run: RunOutgoingProcess;
  /** <dataDir>/pacs/outgoing */
  root: string;
  shippedDir: string;
  localDir?: string;
  instanceId: number;
  modelId?: string;
  signal: AbortSignal;
}): Promise<OutgoingPair> {
  const { library, instanceId } = options;
  const instance = library.getDecodableInstance(instanceId);
  const results = library.listResults(instanceId);
  const result = options.modelId ? results.find((r) => r.modelId === options.modelId) : results[0];
  if (!result)
    throw new AppError(
      'bad_input',
      options.modelId
        ? `image ${instanceId} has no analysis by model ${options.modelId}; analyse it first`
        : `image ${instanceId} has not been analysed; analyse it first (only results are sent, never originals)`,
    );
  const record = (result.output ?? {}) as StoredAnalysis;
  const modelSha = record.model?.sha256 ?? 'unknown';
  const dir = join(
    options.root,
    `${instance.sha256.slice(0, 16)}-${result.modelId}-${modelSha.slice(0, 12)}-p${record.passes ?? 1}`,
  );
  const manifestPath = join(dir, MANIFEST);
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { sc: string; sr: string };
    const sc = join(dir, manifest.sc);
    const sr = join(dir, manifest.sr);
    if (existsSync(sc) && existsSync(sr))
      return { instanceId, modelId: result.modelId, sc, sr, created: false };
  }
  // Written beside the final folder and renamed into place: a cancelled or crashed run leaves no pair.
  const staging = `${dir}.partial-${process.pid}-${Date.now()}`;
  await mkdir(staging, { recursive: true });
  try {
    const override = record.intendedUse?.override;
    const { items } = await options.run(
      {
        files: [instance.filePath],
        outDir: staging,
        format: 'dicom',
        shippedDir: options.shippedDir,
        ...(options.localDir ? { localDir: options.localDir } : {}),
        modelId: result.modelId,
        ...(record.passes ? { passes: record.passes } : {}),
        ...(override ? { overrideIntendedUse: override } : {}),
      },
      options.signal,
    );
    if (options.signal.aborted) throw new AppError('cancelled', 'sending was cancelled');
    const item = items[0];
    if (!item) throw new AppError('internal', `image ${instanceId}: the results were not written`);
    if ('error' in item) {
      const code = errorCodes.find((c) => c === item.error.code) ?? ('unsupported' satisfies ErrorCode);
      throw new AppError(code, `image ${instanceId}: ${item.error.message}`);
    }
    if (!item.output || !item.report)
      throw new AppError('internal', `image ${instanceId}: the restored image or the report was not written`);
    const names = { sc: item.output.slice(staging.length + 1), sr: item.report.slice(staging.length + 1) };
    await writeFile(join(staging, MANIFEST), JSON.stringify(names));
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    return {
      instanceId,
      modelId: result.modelId,
      sc: join(dir, names.sc),
      sr: join(dir, names.sr),
      created: true,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
