// PACS connections, per workstation: <dataDir>/pacs/connections.json (atomic writes) or a config file
// given to the CLI. Secrets (password, bearer token) are never in this file: they live in a SecretStore.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { AppError } from '../util/errors.ts';

const aeTitle = z
  .string()
  .regex(/^[\x20-\x5b\x5d-\x7e]{1,16}$/, 'an AE title is 1 to 16 printable characters without backslash')
  .refine((s) => s.trim().length > 0, 'an AE title is not blank');

export const dicomWebSettingsSchema = z.strictObject({
  /** e.g. https://pacs.example.org/dicom-web (no trailing slash needed). */
  baseUrl: z.url({ protocol: /^https?$/ }),
  auth: z.enum(['none', 'basic', 'bearer']).default('none'),
  /** For basic authentication; the password is in the secret store. */
  username: z.string().max(256).optional(),
  /** PEM file of a custom certificate authority for https. */
  caFile: z.string().max(4096).optional(),
  timeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
});

export const dimseSettingsSchema = z.strictObject({
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65535),
  calledAet: aeTitle,
  callingAet: aeTitle,
  /** C-GET needs nothing registered at the PACS; C-MOVE needs our AE registered with movePort. */
  retrieve: z.enum(['get', 'move']).default('get'),
  /** Port of our own C-STORE SCP while a C-MOVE runs (the PACS knows it under callingAet). */
  movePort: z.number().int().min(1).max(65535).optional(),
  timeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
});

export const connectionSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a connection id is lower-case letters, digits, - and _'),
  name: z.string().min(1).max(128),
  dicomweb: dicomWebSettingsSchema.optional(),
  dimse: dimseSettingsSchema.optional(),
  /** Which protocol queries and retrieves use when both are configured. */
  prefer: z.enum(['dicomweb', 'dimse']).default('dicomweb'),
});
export type PacsConnection = z.infer<typeof connectionSchema>;
export type PacsConnectionInput = z.input<typeof connectionSchema>;

export const connectionsFileSchema = z.strictObject({
  version: z.literal(1),
  connections: z.array(connectionSchema).max(64),
});

/** Checks a connection: one protocol at least; a C-MOVE needs our SCP's port. */
export function parseConnection(input: unknown): PacsConnection {
  const parsed = connectionSchema.safeParse(input);
  if (!parsed.success)
    throw new AppError(
      'bad_input',
      `invalid PACS connection: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  const connection = parsed.data;
  if (!connection.dicomweb && !connection.dimse)
    throw new AppError(
      'bad_input',
      `PACS connection '${connection.id}' has neither dicomweb nor dimse settings`,
    );
  if (connection.dimse?.retrieve === 'move' && !connection.dimse.movePort)
    throw new AppError(
      'bad_input',
      `PACS connection '${connection.id}': a C-MOVE retrieve needs dimse.movePort`,
    );
  if (connection.dicomweb?.auth === 'basic' && !connection.dicomweb.username)
    throw new AppError(
      'bad_input',
      `PACS connection '${connection.id}': basic authentication needs a username`,
    );
  return connection;
}

export function connectionsFile(dataDir: string): string {
  return join(dataDir, 'pacs', 'connections.json');
}

/** Reads a connections file (ours or one given to the CLI); a missing file is an empty list. */
export function readConnections(file: string): PacsConnection[] {
  if (!existsSync(file)) return [];
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new AppError('bad_input', `${file} is not valid JSON: ${(error as Error).message}`);
  }
  const list = z.strictObject({ version: z.literal(1), connections: z.array(z.unknown()) }).safeParse(json);
  if (!list.success)
    throw new AppError('bad_input', `${file}: expected { "version": 1, "connections": [...] }`);
  const connections = list.data.connections.map(parseConnection);
  const ids = new Set<string>();
  for (const c of connections) {
    if (ids.has(c.id)) throw new AppError('bad_input', `${file}: connection id '${c.id}' appears twice`);
    ids.add(c.id);
  }
  return connections;
}

export async function writeConnections(file: string, connections: PacsConnection[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify({ version: 1, connections }, null, 2)}\n`);
}
