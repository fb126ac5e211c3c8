import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Execution providers worth trying on a platform, fastest first; CPU always last. */
export function providerCandidates(platform: string, arch: string, cudaInstalled: boolean): string[] {
  if (platform === 'linux' && arch === 'x64' && cudaInstalled) return ['cuda', 'cpu'];
  if (platform === 'win32') return ['dml', 'cpu'];
  if (platform === 'darwin' && arch === 'arm64') return ['coreml', 'cpu'];
  return ['cpu'];
}

/**
 * onnxruntime-node ships CUDA support only after its optional install step
 * (`onnxruntime-node-install=cuda12`) put the provider library next to the binding.
 */
export function cudaProviderInstalled(): boolean {
  try {
    const ortRoot = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const dir = join(ortRoot, 'bin', 'napi-v6', 'linux', 'x64');
    return existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('libonnxruntime_providers_cuda'));
  } catch {
    return false;
  }
}

export interface ProviderAttempt {
  provider: string;
  error: string;
}

/**
 * Creates a session with the first provider that works. onnxruntime throws (rather than falling
 * back) when given a list with an unavailable provider, so each is tried alone.
 */
export async function withProviderFallback<S>(
  candidates: readonly string[],
  create: (provider: string) => Promise<S>,
): Promise<{ session: S; provider: string; failed: ProviderAttempt[] }> {
  const failed: ProviderAttempt[] = [];
  for (const provider of candidates) {
    try {
      return { session: await create(provider), provider, failed };
    } catch (error) {
      failed.push({ provider, error: error instanceof Error ? error.message : String(error) });
    }
  }
  const reasons = failed.map((f) => `${f.provider}: ${f.error}`).join('; ');
  throw new Error(`no execution provider could load the model (${reasons})`);
}
