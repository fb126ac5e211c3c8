// One model version as one file for moving between offline workstations: a zip (fflate) holding the
// ONNX file, its card, its evaluations and lineage, and manifest.json with every file's SHA-256;
// optionally signature.json, an Ed25519 signature (node:crypto) over manifest.json's exact bytes.
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { z } from 'zod';
import { type ModelCard, modelCardSchema } from '../inference/index.ts';
import { AppError } from '../util/errors.ts';

export const PACKAGE_FORMAT = 'r2c-model-package/1';
/** A package larger than this is refused before it is unpacked (bounded memory). */
export const MAX_PACKAGE_BYTES = 1024 * 1024 * 1024;

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const manifestSchema = z
  .object({
    format: z.literal(PACKAGE_FORMAT),
    model: z.object({ id: z.string(), version: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
    createdAt: z.string(),
    createdBy: z.string(),
    files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
  })
  .strict();
export type PackageManifest = z.infer<typeof manifestSchema>;

const signatureSchema = z
  .object({ algorithm: z.literal('ed25519'), publicKey: z.string(), signature: z.string() })
  .strict();

export interface PackageContents {
  card: ModelCard;
  model: Uint8Array;
  /** The registry's records: free-form JSON validated by the registry when it installs them. */
  evaluations: unknown;
  lineage: unknown;
  thresholds: unknown;
}

const FILES = ['model.onnx', 'card.json', 'evaluations.json', 'lineage.json', 'thresholds.json'] as const;

/** A public key given as PEM or base64 SPKI DER; its fingerprint is the SHA-256 of the DER. */
export function publicKeyFrom(text: string): KeyObject {
  try {
    const trimmed = text.trim();
    return trimmed.startsWith('-----')
      ? createPublicKey(trimmed)
      : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
  } catch (error) {
    throw new AppError(
      'bad_input',
      `not an Ed25519 public key (PEM or base64 SPKI): ${(error as Error).message}`,
    );
  }
}

export function keyFingerprint(key: KeyObject): string {
  return sha256(key.export({ format: 'der', type: 'spki' })).slice(0, 16);
}

export function buildPackage(
  contents: PackageContents,
  options: { createdBy: string; now?: Date; privateKeyPem?: string },
): Uint8Array {
  const files: Record<string, Uint8Array> = {
    'model.onnx': contents.model,
    'card.json': strToU8(`${JSON.stringify(contents.card, null, 1)}\n`),
    'evaluations.json': strToU8(JSON.stringify(contents.evaluations)),
    'lineage.json': strToU8(JSON.stringify(contents.lineage)),
    'thresholds.json': strToU8(JSON.stringify(contents.thresholds)),
  };
  const manifest: PackageManifest = {
    format: PACKAGE_FORMAT,
    model: { id: contents.card.id, version: contents.card.version, sha256: contents.card.sha256 },
    createdAt: (options.now ?? new Date()).toISOString(),
    createdBy: options.createdBy,
    files: Object.fromEntries(Object.entries(files).map(([name, bytes]) => [name, sha256(bytes)])),
  };
  const manifestBytes = strToU8(`${JSON.stringify(manifest, null, 1)}\n`);
  const entries: Record<string, Uint8Array> = { 'manifest.json': manifestBytes, ...files };
  if (options.privateKeyPem) {
    let key: KeyObject;
    try {
      key = createPrivateKey(options.privateKeyPem);
    } catch (error) {
      throw new AppError(
        'bad_input',
        `the signing key is not a private key in PEM: ${(error as Error).message}`,
      );
    }
    if (key.asymmetricKeyType !== 'ed25519')
      throw new AppError('bad_input', 'the signing key must be an Ed25519 key');
    const publicKey = createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('base64');
    const signature = sign(null, manifestBytes, key).toString('base64');
    entries['signature.json'] = strToU8(JSON.stringify({ algorithm: 'ed25519', publicKey, signature }));
  }
  // The ONNX file is stored (level 0): weights barely compress and the hash check reads it anyway.
  return zipSync(
    Object.fromEntries(
      Object.entries(entries).map(([name, bytes]) => [
        name,
        [bytes, { level: name === 'model.onnx' ? 0 : 6 }],
      ]),
    ),
    { mtime: new Date('2020-01-01T00:00:00Z') },
  );
}

export interface VerifiedPackage extends PackageContents {
  manifest: PackageManifest;
  /** The signing key's fingerprint; null when unsigned. */
  signer: string | null;
  /** True when the signer is one of the trusted keys. */
  trusted: boolean;
}

export interface VerifyPolicy {
  requireSignedPackages?: boolean;
  trustedPublicKeys?: readonly string[];
}

const refuse = (message: string) =>
  new AppError('integrity', `model package refused: ${message}; nothing was installed`);

/** Unpacks and checks a package completely; throws (code integrity/forbidden) before anything is installed. */
export function verifyPackage(bytes: Uint8Array, policy: VerifyPolicy = {}): VerifiedPackage {
  if (bytes.length > MAX_PACKAGE_BYTES) throw refuse(`it is larger than ${MAX_PACKAGE_BYTES} bytes`);
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes, {
      filter: (file) => {
        if (file.originalSize > MAX_PACKAGE_BYTES)
          throw new Error(`${file.name} unpacks to more than the limit`);
        return true;
      },
    });
  } catch (error) {
    throw refuse(`it is not a readable model package (${(error as Error).message})`);
  }
  const manifestBytes = entries['manifest.json'];
  if (!manifestBytes) throw refuse('it has no manifest.json');
  let manifest: PackageManifest;
  try {
    manifest = manifestSchema.parse(JSON.parse(strFromU8(manifestBytes)));
  } catch (error) {
    throw refuse(`its manifest is not valid (${(error as Error).message.slice(0, 200)})`);
  }
  const listed = Object.keys(manifest.files).sort();
  if (listed.join() !== [...FILES].sort().join()) throw refuse(`its manifest lists ${listed.join(', ')}`);
  for (const name of Object.keys(entries))
    if (name !== 'manifest.json' && name !== 'signature.json' && !(name in manifest.files))
      throw refuse(`it holds a file its manifest does not list (${name})`);
  for (const [name, expected] of Object.entries(manifest.files)) {
    const file = entries[name];
    if (!file) throw refuse(`${name} is missing`);
    const actual = sha256(file);
    if (actual !== expected)
      throw refuse(
        `${name} does not match its SHA-256 in the manifest (${actual.slice(0, 12)}… expected ${expected.slice(0, 12)}…): the package was altered or damaged`,
      );
  }

  let signer: string | null = null;
  let trusted = false;
  const signatureBytes = entries['signature.json'];
  if (signatureBytes) {
    let parsed: z.infer<typeof signatureSchema>;
    try {
      parsed = signatureSchema.parse(JSON.parse(strFromU8(signatureBytes)));
    } catch {
      throw refuse('its signature.json is not valid');
    }
    const key = publicKeyFrom(parsed.publicKey);
    if (key.asymmetricKeyType !== 'ed25519') throw refuse('its signature is not Ed25519');
    if (!verify(null, manifestBytes, key, Buffer.from(parsed.signature, 'base64')))
      throw refuse('its signature does not match its manifest: the package was altered after signing');
    signer = keyFingerprint(key);
    trusted = (policy.trustedPublicKeys ?? []).some((k) => keyFingerprint(publicKeyFrom(k)) === signer);
  }
  if (policy.requireSignedPackages) {
    if (signer === null)
      throw new AppError(
        'forbidden',
        'model package refused: this workstation accepts only packages signed by a trusted key, and this one is unsigned; nothing was installed',
      );
    if (!trusted)
      throw new AppError(
        'forbidden',
        `model package refused: it is signed by key ${signer}, which is not one of this workstation's trusted keys; nothing was installed`,
      );
  }

  const model = entries['model.onnx']!;
  let card: ModelCard;
  try {
    card = modelCardSchema.parse(JSON.parse(strFromU8(entries['card.json']!)));
  } catch (error) {
    throw refuse(`its model card is not valid (${(error as Error).message.slice(0, 200)})`);
  }
  if (card.sha256 !== sha256(model) || card.bytes !== model.length)
    throw refuse(`its model file does not match its model card's SHA-256`);
  if (
    card.id !== manifest.model.id ||
    card.version !== manifest.model.version ||
    card.sha256 !== manifest.model.sha256
  )
    throw refuse('its manifest and its model card name different models');
  const json = (name: string) => JSON.parse(strFromU8(entries[name]!)) as unknown;
  return {
    manifest,
    card,
    model,
    evaluations: json('evaluations.json'),
    lineage: json('lineage.json'),
    thresholds: json('thresholds.json'),
    signer,
    trusted,
  };
}
