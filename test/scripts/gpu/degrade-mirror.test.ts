// Checks scripts/gpu/degrade_torch.py against the canonical main/data/degrade.ts. Needs a
// Python with torch + numpy (set R2C_TORCH_PYTHON, or python3 on PATH); skips with a reason otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Artifact, ArtifactType } from '../../../main/data/degrade.ts';
import { applyArtifact, artifactAtSeverity, artifactTypes } from '../../../main/data/degrade.ts';
import { Rng } from '../../../main/data/random.ts';
import { createGray } from '../../../main/util/image.ts';
import { repoRoot } from '../../helpers/paths.ts';
import { findPython } from './helpers.ts';

const python = findPython('torch, numpy');
const skip = python ? false : 'no Python with torch and numpy here (set R2C_TORCH_PYTHON to run this check)';

const script = `
import json, sys, random
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import torch, degrade_torch as D
req = json.load(sys.stdin)
h, w = req["height"], req["width"]
x = torch.tensor(req["image"], dtype=torch.float32).view(1, h, w)
out = {"applied": [D.apply_artifact(x, a).view(-1).tolist() for a in req["artifacts"]]}
rng = random.Random(7)
out["samples"] = [D.sample_artifacts(rng, 256, 256) for _ in range(3000)]
out["samples_crop"] = [D.sample_artifacts(rng, 96, 128) for _ in range(600)]
torch.manual_seed(3)
flat = torch.full((1, 128, 128), 0.5)
g = D.apply_artifact(flat, {"type": "gaussian_noise", "sigma": 0.05}) - flat
p = D.apply_artifact(flat, {"type": "poisson_noise", "photons": 200.0})
out["noise"] = {"gauss_std": float(g.std()), "gauss_mean": float(g.mean()),
                "poisson_mean": float(p.mean()), "poisson_var": float(p.var())}
y, arts = D.degrade(x, random.Random(1))
out["degraded_range"] = [float(y.min()), float(y.max())]
json.dump(out, sys.stdout)
`;

test('degrade_torch.py mirrors degrade.ts (filters, exposure, contrast, sampling, noise)', { skip }, () => {
  const width = 37;
  const height = 29; // non-square and odd, to catch swapped axes and border handling
  const image = createGray(width, height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      image.data[y * width + x] = 0.5 + 0.45 * Math.sin(0.5 * x + 0.2 * y) * Math.cos(0.3 * y - 0.1 * x);
  const artifacts: Artifact[] = [
    { type: 'gaussian_blur', sigma: 1.3 },
    { type: 'gaussian_blur', sigma: 2.5 },
    { type: 'motion_blur', length: 7.3, angle: 33 },
    { type: 'motion_blur', length: 13, angle: 120 },
    { type: 'motion_blur', length: 4, angle: 90 },
    { type: 'overexposure', gamma: 0.6, gain: 1.3 },
    { type: 'underexposure', gamma: 2, gain: 0.7 },
    { type: 'low_contrast', factor: 0.5 },
  ];
  const r = spawnSync(python as string, ['-c', script, join(repoRoot, 'scripts', 'gpu')], {
    input: JSON.stringify({ width, height, image: Array.from(image.data), artifacts }),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    applied: number[][];
    samples: ({ type: ArtifactType; severity: number } & Record<string, number>)[][];
    samples_crop: ({ type: ArtifactType; severity: number } & Record<string, number>)[][];
    noise: Record<string, number>;
    degraded_range: [number, number];
  };

  artifacts.forEach((a, k) => {
    const want = applyArtifact(image, a, new Rng(1)).data;
    const got = out.applied[k] as number[];
    let worst = 0;
    for (let i = 0; i < want.length; i++)
      worst = Math.max(worst, Math.abs((got[i] as number) - (want[i] as number)));
    assert.ok(worst < 1e-5, `${a.type} ${JSON.stringify(a)}: max difference ${worst}`);
  });

  // Sampling: 1..3 distinct types in canonical order, never over+under exposure, parameters in range.
  const counts = new Set<number>();
  const seen = new Set<string>();
  for (const list of out.samples) {
    counts.add(list.length);
    const types = list.map((a) => a.type);
    assert.deepEqual(
      types,
      [...types].sort((a, b) => artifactTypes.indexOf(a) - artifactTypes.indexOf(b)),
    );
    assert.equal(new Set(types).size, types.length);
    assert.ok(!(types.includes('overexposure') && types.includes('underexposure')));
    for (const a of list) {
      seen.add(a.type);
      const lo = artifactAtSeverity(a.type, 0, 1, new Rng(1)) as unknown as Record<string, number>;
      const hi = artifactAtSeverity(a.type, 1, 1, new Rng(1)) as unknown as Record<string, number>;
      for (const key of Object.keys(a)) {
        if (key === 'type' || key === 'severity' || key === 'angle') continue;
        const [min, max] = [
          Math.min(lo[key] as number, hi[key] as number),
          Math.max(lo[key] as number, hi[key] as number),
        ];
        assert.ok(
          (a[key] as number) >= min - 1e-9 && (a[key] as number) <= max + 1e-9,
          `${a.type}.${key} = ${a[key]}`,
        );
        const expected = artifactAtSeverity(a.type, a.severity, 1, new Rng(1)) as unknown as Record<
          string,
          number
        >;
        assert.ok(
          Math.abs((a[key] as number) - (expected[key] as number)) < 1e-9,
          `${a.type}.${key} at severity`,
        );
      }
      if (a.type === 'motion_blur') assert.ok((a['angle'] as number) >= 0 && (a['angle'] as number) < 180);
    }
  }
  assert.deepEqual([...counts].sort(), [1, 2, 3]);
  assert.equal(seen.size, artifactTypes.length);

  // Crops (train.py --crop-size): blur sizes scale with max(H, W) / 256 = 0.5, with the engine's floors
  // (sigma >= 0.5 px, motion length >= 2 px).
  let floored = 0;
  for (const a of out.samples_crop.flat()) {
    const expected = artifactAtSeverity(a.type, a.severity, 0.5, new Rng(1)) as unknown as Record<
      string,
      number
    >;
    for (const key of Object.keys(a)) {
      if (key === 'type' || key === 'severity' || key === 'angle') continue;
      assert.ok(Math.abs((a[key] as number) - (expected[key] as number)) < 1e-9, `crop ${a.type}.${key}`);
    }
    if ((a.type === 'gaussian_blur' && a['sigma'] === 0.5) || (a.type === 'motion_blur' && a['length'] === 2))
      floored++;
  }
  assert.ok(floored > 0, 'some crop blurs sit at the floor');

  // Noise statistics: Gaussian sigma, Poisson mean x and variance x / photons.
  assert.ok(Math.abs(out.noise['gauss_std']! - 0.05) < 0.003, `gaussian std ${out.noise['gauss_std']}`);
  assert.ok(Math.abs(out.noise['gauss_mean']!) < 0.003);
  assert.ok(Math.abs(out.noise['poisson_mean']! - 0.5) < 0.003, `poisson mean ${out.noise['poisson_mean']}`);
  assert.ok(
    Math.abs(out.noise['poisson_var']! / (0.5 / 200) - 1) < 0.1,
    `poisson var ${out.noise['poisson_var']}`,
  );
  assert.ok(out.degraded_range[0] >= 0 && out.degraded_range[1] <= 1);
});
