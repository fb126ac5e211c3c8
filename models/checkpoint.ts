// Training checkpoints: config + step + weights + Adam moments in one file, written atomically
// (temp file, fsync, rename, fsync dir) and verified with SHA-256 on load.
// Layout: 8-byte magic, u32 LE header length, JSON header (space-padded to 4 bytes), float32 payload.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { writeFileAtomic } from '../main/util/atomic-write.ts';
import { AppError } from '../main/util/errors.ts';
import { buildInferenceModel } from './inference.ts';
import { r2cGanNetworks } from './nets.ts';
import {
  type GanTrainerConfig,
  R2CGanTrainer,
  type SupervisedTrainerConfig,
  SupervisedTrainer,
  type TrainState,
} from './trainer.ts';
import type { SessionOptions } from './inference.ts';
import { unprefixed } from './training.ts';

const MAGIC = 'R2CCKPT1';
const FORMAT = 'r2c-checkpoint/1';
/** /2 adds the GAN image pools (group 'p'); a /1 reader would misfile them, so it must refuse the file. */
const FORMAT_WITH_POOLS = 'r2c-checkpoint/2';
/** /3 adds the weight average (group 'e'); older readers must refuse it rather than drop it. */
const FORMAT_WITH_EMA = 'r2c-checkpoint/3';
const FORMATS = [FORMAT, FORMAT_WITH_POOLS, FORMAT_WITH_EMA];

export type TrainerConfig = GanTrainerConfig | SupervisedTrainerConfig;
export interface Checkpoint {
  config: TrainerConfig;
  state: TrainState;
}

interface Entry {
  /** weights, Adam moments, weight average ('e'), or an image pool ('p', named '<pool>/<index>'). */
  group: 'w' | 'm' | 'v' | 'e' | 'p';
  name: string;
  offset: number;
  length: number;
}
interface Header {
  format: string;
  config: TrainerConfig;
  step: number;
  savedAt: string;
  entries: Entry[];
  sha256: string;
}

export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const entries: Entry[] = [];
  let offset = 0;
  const arrays: Float32Array[] = [];
  for (const [group, map] of [
    ['w', c.state.weights],
    ['m', c.state.m],
    ['v', c.state.v],
    ['e', c.state.ema ?? new Map<string, Float32Array>()],
  ] as const) {
    for (const [name, a] of [...map].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      entries.push({ group, name, offset, length: a.length });
      arrays.push(a);
      offset += a.length;
    }
  }
  const pooled = [...(c.state.pools ?? [])].filter(([, items]) => items.length > 0);
  for (const [pool, items] of pooled)
    for (const [i, a] of items.entries()) {
      entries.push({ group: 'p', name: `${pool}/${i}`, offset, length: a.length });
      arrays.push(a);
      offset += a.length;
    }
  const payload = new Float32Array(offset);
  let o = 0;
  for (const a of arrays) {
    payload.set(a, o);
    o += a.length;
  }
  const payloadBytes = new Uint8Array(payload.buffer);
  const header: Header = {
    format: c.state.ema ? FORMAT_WITH_EMA : pooled.length > 0 ? FORMAT_WITH_POOLS : FORMAT,
    config: c.config,
    step: c.state.step,
    savedAt: new Date().toISOString(),
    entries,
    sha256: createHash('sha256').update(payloadBytes).digest('hex'),
  };
  let json = JSON.stringify(header);
  while ((12 + Buffer.byteLength(json)) % 4 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(12 + headerBytes.length + payloadBytes.length);
  out.set(Buffer.from(MAGIC, 'ascii'), 0);
  new DataView(out.buffer).setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  out.set(payloadBytes, 12 + headerBytes.length);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, what = 'checkpoint'): Checkpoint {
  if (bytes.length < 12 || Buffer.from(bytes.subarray(0, 8)).toString('ascii') !== MAGIC)
    throw new AppError('integrity', `${what} is not an R2C checkpoint (bad magic)`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + headerLength > bytes.length) throw new AppError('integrity', `${what} is truncated (header)`);
  let header: Header;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(12, 12 + headerLength)).toString('utf8')) as Header;
  } catch {
    throw new AppError('integrity', `${what} has a corrupted header`);
  }
  if (!FORMATS.includes(header.format))
    throw new AppError(
      'unsupported',
      `${what} has format ${header.format}, expected ${FORMATS.join(' or ')}`,
    );
  const payloadBytes = bytes.slice(12 + headerLength);
  const total = header.entries.reduce((a, e) => Math.max(a, e.offset + e.length), 0);
  if (payloadBytes.length !== total * 4) throw new AppError('integrity', `${what} is truncated (payload)`);
  if (createHash('sha256').update(payloadBytes).digest('hex') !== header.sha256)
    throw new AppError('integrity', `${what} failed its checksum (corrupted)`);
  const payload = new Float32Array(payloadBytes.buffer, payloadBytes.byteOffset, total);
  const state: TrainState = { step: header.step, weights: new Map(), m: new Map(), v: new Map() };
  for (const e of header.entries) {
    const data = payload.slice(e.offset, e.offset + e.length);
    if (e.group === 'p') {
      const slash = e.name.lastIndexOf('/');
      const pool = e.name.slice(0, slash);
      const index = Number(e.name.slice(slash + 1));
      if (!state.pools) state.pools = new Map();
      const items = state.pools.get(pool) ?? [];
      if (slash < 1 || index !== items.length)
        throw new AppError('integrity', `${what} has a malformed image pool entry`);
      items.push(data);
      state.pools.set(pool, items);
      continue;
    }
    if (e.group === 'e') {
      if (!state.ema) state.ema = new Map();
      state.ema.set(e.name, data);
      continue;
    }
    const map = e.group === 'w' ? state.weights : e.group === 'm' ? state.m : state.v;
    map.set(e.name, data);
  }
  return { config: header.config, state };
}

export async function saveCheckpoint(path: string, c: Checkpoint): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(c));
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new AppError(
      'not_found',
      `checkpoint ${basename(path)} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return decodeCheckpoint(bytes, `checkpoint ${basename(path)}`);
}

/** Recreates the trainer a checkpoint came from, at its step, to continue training. */
export async function resumeTrainer(
  c: Checkpoint,
  session: SessionOptions = {},
): Promise<R2CGanTrainer | SupervisedTrainer> {
  if (c.config.mode === 'gan') return R2CGanTrainer.create(c.config, c.state, session);
  return SupervisedTrainer.create(c.config, { state: c.state }, session);
}

/** The deployable inference model of a checkpoint's generator (G_A2B for GAN checkpoints). */
export function checkpointToInferenceModel(c: Checkpoint, which: 'G_A2B' | 'G_B2A' = 'G_A2B'): Uint8Array {
  const { generator } = r2cGanNetworks(c.config.kind, c.config);
  const prefix = c.config.mode === 'gan' ? `${which}/` : 'G/';
  // A run that keeps a weight average exports the average (as the trainer does).
  return buildInferenceModel(generator, unprefixed(prefix, c.state.ema ?? c.state.weights));
}

export { writeFileAtomic };
