// Starts a real Orthanc (Debian packages orthanc + orthanc-dicomweb) for the PACS tests: loopback HTTP
// and DICOM ports chosen free, a temporary storage folder, the DICOMweb plugin, HTTP basic
// authentication with a test user, and our own AE registered for C-MOVE/C-GET. Stopped by stop().
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ORTHANC_BINARY = process.env.R2C_ORTHANC ?? '/usr/sbin/Orthanc';
const pluginCandidates = [
  '/usr/share/orthanc/plugins/libOrthancDicomWeb.so',
  '/usr/lib/orthanc/libOrthancDicomWeb.so',
];
export const DICOMWEB_PLUGIN = pluginCandidates.find((p) => existsSync(p));

/** Why the Orthanc tests cannot run here, or undefined when they can. */
export function orthancMissing(): string | undefined {
  if (!existsSync(ORTHANC_BINARY))
    return `Orthanc is not installed (${ORTHANC_BINARY}; scripts/install.sh installs the Debian package 'orthanc')`;
  if (!DICOMWEB_PLUGIN)
    return `the Orthanc DICOMweb plugin is not installed (Debian package 'orthanc-dicomweb')`;
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface OrthancServer {
  httpPort: number;
  dicomPort: number;
  aet: string;
  user: string;
  password: string;
  /** Our own AE title and the port of our C-STORE SCP, registered in Orthanc for C-MOVE. */
  ourAet: string;
  ourPort: number;
  baseUrl: string;
  dicomWebUrl: string;
  storage: string;
  /** Orthanc's REST API with the test user's credentials. */
  rest(path: string, init?: RequestInit): Promise<Response>;
  /** Uploads a Part 10 file through the REST API; returns Orthanc's answer. */
  upload(bytes: Uint8Array): Promise<{ ID: string; Status: string; ParentStudy: string }>;
  kill(signal?: NodeJS.Signals): void;
  stop(): Promise<void>;
  /** Starts the same server again (same ports and storage) after kill(). */
  restart(): Promise<void>;
}

/** A throw-away CA and a server certificate for 127.0.0.1 (openssl), for the https tests. */
export function makeTestCertificates(dir: string): { caFile: string; serverPem: string } | undefined {
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  const run = (args: string[]) => spawnSync('openssl', args, { cwd: dir, stdio: 'ignore' }).status === 0;
  const ok =
    run([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '2',
      '-subj',
      '/CN=r2c test CA',
    ]) &&
    run([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    ]) &&
    run([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    ]);
  if (!ok) return undefined;
  // Orthanc wants the certificate and its key in one PEM file.
  writeFileSync(
    join(dir, 'server.pem'),
    readFileSync(join(dir, 'server.crt'), 'utf8') + readFileSync(join(dir, 'server.key'), 'utf8'),
  );
  return { caFile: join(dir, 'ca.pem'), serverPem: join(dir, 'server.pem') };
}

export async function startOrthanc(options: { ourAet?: string } = {}): Promise<OrthancServer> {
  const storage = mkdtempSync(join(tmpdir(), 'r2c-orthanc-'));
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const ourPort = await freePort();
  const ourAet = options.ourAet ?? 'R2CTEST';
  const user = 'r2c';
  const password = 'test-secret-5d1f';
  const config = {
    Name: 'r2c-test-orthanc',
    StorageDirectory: join(storage, 'db'),
    IndexDirectory: join(storage, 'db'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: 'ORTHANC',
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [user]: password },
    Plugins: [DICOMWEB_PLUGIN],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true, StudiesMetadata: 'Full' },
    DicomModalities: { r2c: [ourAet, '127.0.0.1', ourPort] },
    DicomCheckCalledAet: false,
    DicomCheckModalityHost: false,
    DicomAlwaysAllowEcho: true,
    DicomAlwaysAllowStore: true,
    DicomAlwaysAllowFind: true,
    DicomAlwaysAllowGet: true,
    UnknownSopClassAccepted: true,
    SaveJobs: false,
    HttpCompressionEnabled: false,
    StableAge: 1,
    LimitFindResults: 0,
    LimitFindInstances: 0,
    StorageCompression: false,
  };
  const configPath = join(storage, 'orthanc.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const baseUrl = `http://127.0.0.1:${httpPort}`;
  const get = (url: string, init: RequestInit = {}) => fetch(url, init);
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  let child: ChildProcess | undefined;
  let log = '';

  const launch = async () => {
    log = '';
    const started = spawn(ORTHANC_BINARY, [configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout?.on('data', (d) => (log = (log + d).slice(-20000)));
    started.stderr?.on('data', (d) => (log = (log + d).slice(-20000)));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (started.exitCode !== null) throw new Error(`Orthanc exited (${started.exitCode}):\n${log}`);
      try {
        const response = await get(`${baseUrl}/system`, { headers: { authorization: auth } });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    started.kill('SIGKILL');
    throw new Error(`Orthanc did not start in 60 s:\n${log}`);
  };
  await launch();

  const server: OrthancServer = {
    httpPort,
    dicomPort,
    aet: 'ORTHANC',
    user,
    password,
    ourAet,
    ourPort,
    baseUrl,
    dicomWebUrl: `${baseUrl}/dicom-web`,
    storage,
    rest: (path, init = {}) =>
      get(`${baseUrl}${path}`, {
        ...init,
        headers: { authorization: auth, ...(init.headers as Record<string, string> | undefined) },
      }),
    async upload(bytes) {
      const response = await server.rest('/instances', {
        method: 'POST',
        body: bytes,
        headers: { 'content-type': 'application/dicom' },
      });
      if (!response.ok)
        throw new Error(`Orthanc refused an upload: ${response.status} ${await response.text()}`);
      return (await response.json()) as { ID: string; Status: string; ParentStudy: string };
    },
    kill(signal = 'SIGKILL') {
      child?.kill(signal);
    },
    async stop() {
      const running = child;
      if (running && running.exitCode === null) {
        const exited = new Promise((r) => running.once('exit', r));
        running.kill('SIGTERM');
        const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(storage, { recursive: true, force: true });
    },
    async restart() {
      const running = child;
      if (running && running.exitCode === null) {
        const exited = new Promise((r) => running.once('exit', r));
        running.kill('SIGKILL');
        await exited;
      }
      await launch();
    },
  };
  return server;
}
