#!/usr/bin/env python3
"""Short GPU training run of R2C-GAN (operational Q=3, or the compact CNN) whose weights the TS
engine imports.

  python3 scripts/gpu/train.py --parity --out OUT [--seed S] [--arch A] [--upsampling U]
      [--parity-step] [--parity-paired [--train-only P]]
      CPU float32 forward of G and D (engine init from the seed, biases/scales perturbed) on two fixed
      ramp images; writes OUT/parity.bin + OUT/parity.json for import-weights.ts --parity.
      --parity-paired --train-only P adds PAIRED_ONLY_STEPS training steps with trainOnly P (only/*).
  python3 scripts/gpu/train.py --data .gpu-data --out OUT --minutes M [--batch 1] [--seed S]
      trains until M minutes after this process started (or SIGTERM/SIGINT), writing
      OUT/metrics.jsonl and checkpoints OUT/g_a2b.bin/.json (+ OUT/state.bin/.json with --save-nets
      all): first after --first-checkpoint seconds, then every --checkpoint-every seconds, and at the end.
  ... --resume DIR   continues from DIR/state.json + DIR/g_a2b.json (written with --save-nets all).

--arch operational (default; --q 3) or convolutional-light (nets.ts compactGenerator/Discriminator).
--upsampling transposed (default, the reference) or resize (nearest x2 + 3x3 conv, same parameters).

  python3 scripts/gpu/train.py --objective paired --data .gpu-data --out OUT --minutes M
      [--crop-size 128 --crop-fraction 0.8 | --crop-steps N] [--ema-decay 0.999] [--steps auto|N]
      [--init W.json] [--l1-weight 10 --class-weight 1 --clean-fraction 0.25] [--train-only dec]
  The engine's paired recipe (buildSupervisedStep + SupervisedTrainer, main/training/run.ts): ONE
  generator, l1Weight*L1(G(x), clean) + classWeight*CE, x = the clean crop on cleanFraction of the
  images, else degrade_torch of it; the first crop steps on --crop-size crops of the same 286 px
  image, then --size; lr decays linearly from --decay-start (default 0) to 0 at the step budget;
  the weight average (emaDecayAt) is what g_a2b.bin holds. --steps auto (default) times the step at
  both sizes first and picks the budget that ends before --minutes, so the lr reaches 0. --init
  starts from a generator's weights (a transposed one converted for --upsampling resize).
  --train-only P1,P2 (trainOnly): only the parameters named P or P.* (engine names, e.g. dec) get
  gradients and Adam state; the rest stay bit-identical, in the trained weights and the average. Resumable
  with --resume (state.json format r2c-paired-train-state/1: trained weights + Adam m/v; the
  average is g_a2b.bin; the schedule and crop phase continue from the checkpoint's recipe, the data
  stream is reseeded).

Resumable state (--save-nets all), kept to 2 extra files so a device run returns at most 8 files:
  g_a2b.bin   G_A2B weights, float32 (the same file import-weights.ts reads);
  state.bin   G_B2A, D_A, D_B weights in float32, then the generators' Adam moments m and v in
              bfloat16 (float32's exponent range, so tiny v does not underflow as it would in float16;
              8-bit mantissa, a ~0.4% relative rounding of the moments, once per resume);
  state.json  configs, step counters, tensor table, sha256 of state.bin AND of the g_a2b.bin it pairs
              with (a resume refuses a mismatched pair).
  The discriminators' Adam moments are NOT stored (Q=3 would need ~20 MB with them, over the 16 MiB
  per-file limit): on resume the D optimiser restarts (zero moments, step 0, so its bias correction
  restarts too). The generators' Adam step and the training step counter continue. The image pools
  start empty and the data order / augmentation RNGs are reseeded from (seed, step).

Semantics (network, losses, Adam) are in r2c_torch.py; degradation in degrade_torch.py.
Batch size 1 is the reference; a larger --batch trades updates for images/s (losses are means, as in
the engine, so the lr stays comparable). TF32 matmul/conv is enabled on the GPU (disable: --no-tf32).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import random
import signal
import sys
import time
import traceback

PROCESS_START = time.monotonic()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import degrade_torch  # noqa: E402
import r2c_torch as R  # noqa: E402

WEIGHTS_FORMAT = "r2c-gan-weights/1"
STATE_FORMAT = "r2c-gan-train-state/1"
PARITY_FORMAT = "r2c-gan-parity/1"
# Seed offsets per network: G_A2B = seed, G_B2A = seed + 1, D_A = seed + 2, D_B = seed + 3.
# The generators' upsampling layers (run.ts UPSAMPLING_LAYERS; only 'dec' in the kit's networks).
UPSAMPLING_LAYERS = ("dec", "up1", "up2")
NETS = {"g_a2b": ("G_A2B", "generator", 0), "g_b2a": ("G_B2A", "generator", 1),
        "d_a": ("D_A", "discriminator", 2), "d_b": ("D_B", "discriminator", 3)}


def log(msg: str) -> None:
    print(f"[{time.monotonic() - PROCESS_START:8.1f}s] {msg}", flush=True)


def write_atomic(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------ parity


def ramp_image(h: int, w: int) -> np.ndarray:
    """A smooth deterministic image in (-1, 1), [1, 1, h, w] float32."""
    y = np.arange(h, dtype=np.float64)[:, None]
    x = np.arange(w, dtype=np.float64)[None, :]
    v = 0.85 * np.sin(0.31 * y + 0.17 * x + 0.4) * np.cos(0.13 * x - 0.07 * y) + 0.1 * (x / max(w - 1, 1) - 0.5)
    return v.astype(np.float32).reshape(1, 1, h, w)


def perturbed_init(specs, seed: int) -> dict:
    """Engine init, then zeros/ones params get a deterministic offset so the parity check also
    exercises bias and norm-scale mapping (all-zero biases would hide a mix-up)."""
    w = R.init_weights_numpy(specs, seed)
    for k, s in enumerate(specs):
        if s.init in ("zeros", "ones"):
            i = np.arange(s.size, dtype=np.float64)
            delta = 0.1 * np.sin(0.7 * i + 1.3 * k + 0.5)
            w[s.name] = (w[s.name].reshape(-1).astype(np.float64) + delta).astype(np.float32).reshape(s.shape)
    return w


def step_parity(args, g_specs, d_specs, g_np, d_np, a_np, tensors) -> dict:
    """One generator step then one discriminator step (batch 1, empty pools, Adam step 0) on fixed
    inputs: records the loss terms, the gradients and the updated parameters, to compare with the
    engine's buildGeneratorStep/buildDiscriminatorStep graphs. G_A2B = G/ and D_A = D/ weights."""
    q, arch = args.q, args.arch
    b_np = np.ascontiguousarray(a_np[:, :, ::-1, :] * 0.9, dtype=np.float32)
    label_a, label_b = np.array([[0.0, 1.0]], np.float32), np.array([[1.0, 0.0]], np.float32)
    weights = {"G_A2B": g_np, "G_B2A": perturbed_init(g_specs, args.seed + 1),
               "D_A": d_np, "D_B": perturbed_init(d_specs, args.seed + 3)}
    P = {k: R.to_torch_params(v, "cpu", requires_grad=True) for k, v in weights.items()}
    A, B = torch.from_numpy(a_np), torch.from_numpy(b_np)
    la, lb = torch.from_numpy(label_a), torch.from_numpy(label_b)
    tensors.append(("step/B", b_np))
    tensors.append(("step/labelA", label_a))
    tensors.append(("step/labelB", label_b))
    for net in ("G_B2A", "D_B"):
        specs = g_specs if net.startswith("G") else d_specs
        for s in specs:
            tensors.append((f"{net}/{s.name}", weights[net][s.name]))
    lr = R.REFERENCE_LR
    tensors.append(("step/lr", np.array(lr, dtype=np.float32)))
    for phase in ("G", "D"):
        nets = ("G_A2B", "G_B2A") if phase == "G" else ("D_A", "D_B")
        specs = g_specs if phase == "G" else d_specs
        plist = [P[n][s.name] for n in nets for s in specs]
        if phase == "G":
            total, terms, a2b, b2a, _ = R.generator_objective(P["G_A2B"], P["G_B2A"], P["D_A"], P["D_B"], A, B, la, lb, q,
                                                                 arch=arch, upsampling=args.upsampling)
            fakes = (a2b.detach(), b2a.detach())
        else:
            pool_a2b, pool_b2a = R.ImagePool(50), R.ImagePool(50)  # empty pools return their input
            total, terms = R.discriminator_objective(P["D_A"], P["D_B"], A, B, pool_a2b(fakes[0]), pool_b2a(fakes[1]), q,
                                                     arch=arch)
        grads = torch.autograd.grad(total, plist)
        R.KerasAdam(plist, lr=lr, **_adam_kw()).step(grads)
        tensors.append((f"step/{phase}/total", total.detach().numpy().reshape(())))
        for k, v in terms.items():
            tensors.append((f"step/{phase}/{k}", v.detach().numpy().reshape(())))
        i = 0
        for n in nets:
            for s in specs:
                tensors.append((f"grad/{n}/{s.name}", grads[i].numpy()))
                tensors.append((f"next/{n}/{s.name}", plist[i].detach().numpy().copy()))
                i += 1
        log(f"step parity {phase}: total {float(total):.6f}")
    return {"size": int(a_np.shape[2]), "batch": 1, "lr": lr, "adamStep": 0,
            "B": "input/0 flipped vertically * 0.9", "labels": "A covid [0,1], B normal [1,0]"}


# The schedule and Adam step of the paired parity step: mid-decay, so the lr formula and the Adam bias
# correction at t > 1 are both exercised.
PAIRED_PARITY_SCHEDULE = (R.REFERENCE_LR, 0, 20)
PAIRED_PARITY_STEP = 5
PAIRED_PARITY_EMA = 0.999


def paired_step_parity(args, g_specs, g_np, a_np, tensors) -> dict:
    """One paired step (buildSupervisedStep: l1Weight*L1 + classWeight*CE, Adam at step
    PAIRED_PARITY_STEP with zero moments, lr from the linear schedule) then the weight-average update
    (ema starts as the weights before the step), on fixed inputs: records losses, gradients, updated
    parameters and the average, to compare with the engine's step graph and emaDecayAt."""
    q, arch, up = args.q, args.arch, args.upsampling
    target_np = np.ascontiguousarray(a_np[:, :, ::-1, :] * 0.9, dtype=np.float32)
    label = np.array([[0.0, 1.0]], np.float32)
    P = R.to_torch_params(g_np, "cpu", requires_grad=True)
    plist = [P[s.name] for s in g_specs]
    before = [t.detach().clone() for t in plist]
    lr0, decay_start, total_steps = PAIRED_PARITY_SCHEDULE
    lr = R.learning_rate_at(lr0, decay_start, total_steps, PAIRED_PARITY_STEP)
    total, terms, _, _ = R.paired_objective(P, torch.from_numpy(a_np), torch.from_numpy(target_np), torch.from_numpy(label),
                                            q, arch, up, args.l1_weight, args.class_weight)
    grads = torch.autograd.grad(total, plist)
    opt = R.KerasAdam(plist, lr=lr, **_adam_kw())
    opt.step_count = PAIRED_PARITY_STEP
    opt.step(grads)
    ema = [t.clone() for t in before]
    R.ema_update(ema, plist, PAIRED_PARITY_EMA, PAIRED_PARITY_STEP + 1)
    tensors.append(("paired/target", target_np))
    tensors.append(("paired/label", label))
    tensors.append(("paired/lr", np.array(lr, dtype=np.float32)))
    tensors.append(("paired/total", total.detach().numpy().reshape(())))
    for k, v in terms.items():
        tensors.append((f"paired/{k}", v.detach().numpy().reshape(())))
    for i, s in enumerate(g_specs):
        tensors.append((f"paired/grad/{s.name}", grads[i].numpy()))
        tensors.append((f"paired/next/{s.name}", plist[i].detach().numpy().copy()))
        tensors.append((f"paired/ema/{s.name}", ema[i].numpy()))
    log(f"paired step parity: total {float(total):.6f}, lr {lr:.3e}")
    return {"size": int(a_np.shape[2]), "batch": 1, "input": "input/0", "target": "input/0 flipped vertically * 0.9",
            "label": "covid [0,1]", "l1Weight": args.l1_weight, "classWeight": args.class_weight,
            "schedule": {"lr": lr0, "decayStart": decay_start, "totalSteps": total_steps},
            "adamStep": PAIRED_PARITY_STEP, "emaDecay": PAIRED_PARITY_EMA}


# The trainOnly parity: this many steps of the training loop's step (paired_train_step) from step 0,
# zero moments and the same batch each step, so the Adam state carried between steps is exercised too.
PAIRED_ONLY_STEPS = 2


def paired_train_only_parity(args, g_specs, g_np, a_np, tensors) -> dict:
    """PAIRED_ONLY_STEPS paired steps with --train-only (the frozen parameters get no gradient and no
    Adam state) and the average update of the trained ones, as the training loop does them; records per
    step the losses and lr, the first step's gradients, then all weights, the average and the moments,
    to compare with the engine's SupervisedTrainer with the same trainOnly (same schedule, EMA decay)."""
    target_np = np.ascontiguousarray(a_np[:, :, ::-1, :] * 0.9, dtype=np.float32)
    label = np.array([[0.0, 1.0]], np.float32)
    params = R.to_torch_params(g_np, "cpu")
    trained = R.trained_specs(g_specs, params, args.train_only)
    plist = [params[s.name] for s in trained]
    opt = R.KerasAdam(plist, lr=R.REFERENCE_LR, **_adam_kw())
    ema = [params[s.name].detach().clone() for s in g_specs]
    ema_trained = trained_subset(ema, g_specs, trained)
    lr0, decay_start, total_steps = PAIRED_PARITY_SCHEDULE
    batch = (torch.from_numpy(a_np), torch.from_numpy(target_np), torch.from_numpy(label))
    tensors.append(("only/target", target_np))
    tensors.append(("only/label", label))
    for k in range(PAIRED_ONLY_STEPS):
        lr = R.learning_rate_at(lr0, decay_start, total_steps, k)
        total, terms, _, grads = paired_train_step(args, params, plist, opt, batch, lr, args.l1_weight,
                                                   args.class_weight)
        R.ema_update(ema_trained, plist, PAIRED_PARITY_EMA, k + 1)
        tensors.append((f"only/{k}/lr", np.array(lr, dtype=np.float32)))
        tensors.append((f"only/{k}/total", total.detach().numpy().reshape(())))
        for key, v in terms.items():
            tensors.append((f"only/{k}/{key}", v.detach().numpy().reshape(())))
        if k == 0:
            for s, gr in zip(trained, grads, strict=True):
                tensors.append((f"only/grad/{s.name}", gr.numpy()))
        log(f"trainOnly parity step {k}: total {float(total):.6f}, lr {lr:.3e}")
    for s, a in zip(g_specs, ema, strict=True):
        tensors.append((f"only/next/{s.name}", params[s.name].detach().numpy().copy()))
        tensors.append((f"only/ema/{s.name}", a.numpy()))
    for s, m, v in zip(trained, opt.m, opt.v, strict=True):
        tensors.append((f"only/m/{s.name}", m.numpy()))
        tensors.append((f"only/v/{s.name}", v.numpy()))
    return {"trainOnly": args.train_only, "trained": [s.name for s in trained], "steps": PAIRED_ONLY_STEPS,
            "size": int(a_np.shape[2]), "batch": 1, "input": "input/0", "target": "only/target", "label": "only/label",
            "l1Weight": args.l1_weight, "classWeight": args.class_weight,
            "schedule": {"lr": lr0, "decayStart": decay_start, "totalSteps": total_steps},
            "adamStep": 0, "emaDecay": PAIRED_PARITY_EMA}


def run_parity(args) -> int:
    torch.set_num_threads(max(1, min(16, os.cpu_count() or 1)))
    q, width, arch, up = args.q, args.width, args.arch, args.upsampling
    g_specs, d_specs = R.generator_specs(q, 1, width, arch), R.discriminator_specs(q, 1, width, arch)
    g_seed, d_seed = args.seed, args.seed + 2
    g_np, d_np = perturbed_init(g_specs, g_seed), perturbed_init(d_specs, d_seed)
    g = R.to_torch_params(g_np, "cpu", requires_grad=False)
    d = R.to_torch_params(d_np, "cpu", requires_grad=False)
    tensors: list[tuple[str, np.ndarray]] = []
    for s in g_specs:
        tensors.append((f"G/{s.name}", g_np[s.name]))
    for s in d_specs:
        tensors.append((f"D/{s.name}", d_np[s.name]))
    inputs = [ramp_image(32, 32), ramp_image(64, 48)]
    with torch.no_grad():
        for i, x_np in enumerate(inputs):
            x = torch.from_numpy(x_np)
            r = R.generator_forward(g, x, q, arch, up)
            dout = R.discriminator_forward(d, x, q, arch)
            if up == "resize":  # the engine's 4x4 transposed form of the same layer
                plain = arch != "operational"
                a = R.resize_conv(g, "dec", r["features"], q, True, plain)
                b = R.resize_conv_as_transposed(g, "dec", r["features"], q, True, plain)
                rel = float((a - b).abs().max() / a.abs().max().clamp_min(1e-12))
                log(f"resize conv: nearest+3x3 vs 4x4 transposed form, relative difference {rel:.2e}")
                if not rel < 1e-5:
                    raise RuntimeError(f"the two forms of the resize conv differ (relative {rel})")
            tensors.append((f"input/{i}", x_np))
            for key in ("output", "logits", "probabilities", "features"):
                tensors.append((f"G/{key}/{i}", r[key].numpy()))
            tensors.append((f"D/output/{i}", dout.numpy()))
            log(f"parity input {i} {list(x_np.shape)}: restored {list(r['output'].shape)}, "
                f"probabilities {r['probabilities'].numpy().round(5).tolist()}, D {list(dout.shape)}")
    # transposed -> resize kernel conversion (used by --init of a transposed model for a resize run)
    for s in g_specs:
        if s.name.split(".")[0] in UPSAMPLING_LAYERS and s.name.endswith(".weight"):
            tensors.append((f"convert/{s.name}", R.transposed_to_resize_kernel(g_np[s.name])))
    step_meta = None
    if args.parity_step:
        step_meta = step_parity(args, g_specs, d_specs, g_np, d_np, inputs[0], tensors)
    paired_meta = None
    if args.parity_paired:
        paired_meta = paired_step_parity(args, g_specs, g_np, inputs[0], tensors)
    only_meta = None
    if args.parity_paired and args.train_only is not None:
        only_meta = paired_train_only_parity(args, g_specs, g_np, inputs[0], tensors)
    chunks, rows, offset = [], [], 0
    for name, arr in tensors:
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        rows.append({"name": name, "shape": list(arr.shape), "offset": offset, "length": int(arr.size)})
        chunks.append(b)
        offset += len(b)
    blob = b"".join(chunks)
    meta = {
        "format": PARITY_FORMAT,
        "seeds": {"generator": g_seed, "discriminator": d_seed},
        "perturbed": "zeros/ones params += 0.1*sin(0.7*i + 1.3*k + 0.5), k = param index",
        "generator": R.net_config("generator", q, 1, width, arch, up),
        "discriminator": R.net_config("discriminator", q, 1, width, arch),
        "inputs": len(inputs),
        "step": step_meta,
        "pairedStep": paired_meta,
        "pairedTrainOnly": only_meta,
        "convert": "convert/<name> = transposed_to_resize_kernel(G/<name>) for the upsampling layers' kernels",
        "device": "cpu",
        "dtype": "float32",
        "torch": torch.__version__,
        "bin": "parity.bin",
        "totalBytes": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "tensors": rows,
    }
    os.makedirs(args.out, exist_ok=True)
    write_atomic(os.path.join(args.out, "parity.bin"), blob)
    write_atomic(os.path.join(args.out, "parity.json"), json.dumps(meta, indent=1).encode())
    log(f"parity written: {len(rows)} tensors, {len(blob)} bytes")
    return 0


# ------------------------------------------------------------------------------------------ data


def load_dataset(data_dir: str, device):
    """labels.csv (file,label,class_index,domain,id) + 8-bit images -> uint8 tensors on device."""
    path = os.path.join(data_dir, "labels.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise RuntimeError(f"{path} lists no images")
    try:
        import cv2

        def read(p):
            img = cv2.imread(p, cv2.IMREAD_GRAYSCALE)
            if img is None:
                raise RuntimeError(f"cannot decode {p}")
            return img
    except ImportError:
        from PIL import Image

        def read(p):
            with Image.open(p) as im:
                return np.asarray(im.convert("L"))

    from concurrent.futures import ThreadPoolExecutor

    files = [os.path.join(data_dir, r["file"]) for r in rows]
    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 4)) as ex:
        images = list(ex.map(read, files))
    shape = images[0].shape
    for p, im in zip(files, images):
        if im.shape != shape:
            raise RuntimeError(f"{p} is {im.shape}, expected {shape} like the first image")
    stack = torch.from_numpy(np.stack(images)).unsqueeze(1).to(device)  # [N, 1, H, W] uint8
    labels = torch.tensor([int(r["class_index"]) for r in rows], dtype=torch.long, device=device)
    domains = [r.get("domain", "") for r in rows]
    poor = [i for i, dm in enumerate(domains) if dm == "poor"]
    good = [i for i, dm in enumerate(domains) if dm == "good"]
    if not poor or not good:
        # No domain column: disjoint halves by a seeded shuffle.
        idx = list(range(len(rows)))
        random.Random(12345).shuffle(idx)
        half = len(idx) // 2
        poor, good = sorted(idx[:half]), sorted(idx[half:])
    if set(poor) & set(good):
        raise RuntimeError("poor and good domains overlap in labels.csv")
    return stack, labels, poor, good


class Cycler:
    """Visits a pool in a fresh random order each pass (like an epoch)."""

    def __init__(self, items, rng: random.Random):
        self.items, self.rng, self.order, self.pos = list(items), rng, [], 0

    def take(self, n: int) -> list[int]:
        out = []
        while len(out) < n:
            if self.pos >= len(self.order):
                self.order = self.rng.sample(self.items, len(self.items))
                self.pos = 0
            out.append(self.order[self.pos])
            self.pos += 1
        return out


def augment(images_u8: torch.Tensor, idx: list[int], size: int, jitter_max: int, rng: random.Random):
    """augment.ts: (optional scale jitter) random crop `size`, random horizontal flip; [0,1] float."""
    out = []
    for i in idx:
        img = images_u8[i].float().div_(255.0)  # [1, H, W]
        h, w = int(img.shape[1]), int(img.shape[2])
        if jitter_max > h:
            side = rng.randint(h, jitter_max)
            img = F.interpolate(img.unsqueeze(0), size=(side, side), mode="bilinear", align_corners=False)[0]
            h = w = side
        y0 = rng.randint(0, h - size)
        x0 = rng.randint(0, w - size)
        crop = img[:, y0 : y0 + size, x0 : x0 + size]
        if rng.random() < 0.5:
            crop = torch.flip(crop, dims=[2])
        out.append(crop)
    return torch.stack(out, dim=0)


# ------------------------------------------------------------------------------------------ training


class Stop:
    requested = False
    reason = ""


def _on_signal(signum, _frame):
    Stop.requested = True
    Stop.reason = f"signal {signum}"
    print(f"received signal {signum}: stopping after this step", flush=True)


def _bf16_bytes(t: torch.Tensor) -> bytes:
    return np.ascontiguousarray(t.detach().to("cpu", torch.bfloat16).view(torch.int16).numpy(), dtype="<i2").tobytes()


def _state_blob(params, specs_of, g_opt, info):
    """state.bin contents + rows: G_B2A, D_A, D_B weights (float32), G Adam m, v (bfloat16)."""
    chunks, rows, offset = [], [], 0

    def add(name, t, dtype):
        nonlocal offset
        b = _bf16_bytes(t) if dtype == "bfloat16" else np.ascontiguousarray(
            t.detach().to("cpu", torch.float32).numpy(), dtype="<f4").tobytes()
        rows.append({"name": name, "dtype": dtype, "shape": list(t.shape), "offset": offset, "length": int(t.numel())})
        chunks.append(b)
        offset += len(b)

    for key in ("g_b2a", "d_a", "d_b"):
        net_name, role, _ = NETS[key]
        for s in specs_of[role]:
            add(f"{net_name}/{s.name}", params[key][s.name], "float32")
    i = 0
    for key in ("g_a2b", "g_b2a"):
        net_name = NETS[key][0]
        for s in specs_of["generator"]:
            add(f"adam.m/{net_name}/{s.name}", g_opt.m[i], "bfloat16")
            add(f"adam.v/{net_name}/{s.name}", g_opt.v[i], "bfloat16")
            i += 1
    return b"".join(chunks), rows


def save_checkpoint(out_dir, nets_to_save, params, specs_of, info, g_opt=None, d_opt=None) -> bool:
    """Writes <net>.bin + <net>.json per net (+ state.bin/.json when g_opt is given, after g_a2b);
    refuses non-finite weights. Never raises."""
    try:
        arch = info["config"]["arch"]
        for key in list(NETS) if g_opt is not None else nets_to_save:
            for s in specs_of[NETS[key][1]]:
                if not bool(torch.isfinite(params[key][s.name]).all()):
                    log(f"checkpoint skipped: {NETS[key][0]} parameter {s.name} is not finite")
                    return False
        g_a2b_sha = None
        for key in nets_to_save:
            net_name, role, _ = NETS[key]
            specs = specs_of[role]
            p = params[key]
            for s in specs:
                if not bool(torch.isfinite(p[s.name]).all()):
                    log(f"checkpoint skipped: {net_name} parameter {s.name} is not finite")
                    return False
            blob, rows = R.flatten_params(specs, p)
            meta = {
                "format": WEIGHTS_FORMAT,
                "net": net_name,
                "config": R.net_config(role, info["config"]["q"], 1, info["config"]["width"], arch,
                                       info["config"].get("upsampling", "transposed")),
                "dtype": "float32",
                "byteOrder": "little",
                "bin": f"{key}.bin",
                "totalBytes": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(),
                "steps": info["steps"],
                "seconds": round(info["seconds"], 1),
                "final": info.get("final", False),
                "train": info["config"],
                "lastMetrics": info.get("metrics"),
                "params": rows,
            }
            write_atomic(os.path.join(out_dir, f"{key}.bin"), blob)
            write_atomic(os.path.join(out_dir, f"{key}.json"), json.dumps(meta, indent=1).encode())
            if key == "g_a2b":
                g_a2b_sha = meta["sha256"]
        if g_opt is not None:
            blob, rows = _state_blob(params, specs_of, g_opt, info)
            c = info["config"]
            meta = {
                "format": STATE_FORMAT,
                "arch": arch,
                "generator": R.net_config("generator", c["q"], 1, c["width"], arch, c.get("upsampling", "transposed")),
                "discriminator": R.net_config("discriminator", c["q"], 1, c["width"], arch),
                "steps": info["steps"],
                "seconds": round(info["seconds"], 1),
                "final": info.get("final", False),
                "gAdamStep": g_opt.step_count,
                "dAdamStep": d_opt.step_count if d_opt is not None else None,
                "dAdamStored": False,
                "g_a2b": {"json": "g_a2b.json", "bin": "g_a2b.bin", "sha256": g_a2b_sha},
                "train": c,
                "bin": "state.bin",
                "totalBytes": len(blob),
                "sha256": hashlib.sha256(blob).hexdigest(),
                "note": "G_A2B weights are g_a2b.bin; D Adam moments are not stored (D optimiser restarts); "
                        "adam.* rows are bfloat16 (upper 16 bits of float32), little-endian",
                "tensors": rows,
            }
            write_atomic(os.path.join(out_dir, "state.bin"), blob)
            write_atomic(os.path.join(out_dir, "state.json"), json.dumps(meta, indent=1).encode())
        log(f"checkpoint at step {info['steps']} ({', '.join(nets_to_save)}{' + state' if g_opt else ''})")
        return True
    except Exception:  # a failed write must not end the run
        log("checkpoint write FAILED:\n" + traceback.format_exc())
        return False


def configure_tf32(enabled: bool) -> None:
    """Legacy flags only: torch >= 2.9 warns about them, but mixing them with the new
    fp32_precision API can raise. cuDNN convs (nearly all the work) allow TF32 by default anyway."""
    try:
        torch.backends.cudnn.allow_tf32 = enabled
        torch.backends.cuda.matmul.allow_tf32 = enabled
    except Exception as e:  # keep training with torch's defaults
        log(f"could not set the TF32 flags ({e}); using torch defaults")


def start_run(args):
    """Deadline, signal handlers, device and seed: what every training run sets up first."""
    deadline = PROCESS_START + args.minutes * 60.0
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    if not torch.cuda.is_available():
        log("WARNING: CUDA is not available; training on CPU (very slow)")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        configure_tf32(not args.no_tf32)
        log(f"device {torch.cuda.get_device_name(0)}, TF32 {'off' if args.no_tf32 else 'on'}")
    torch.manual_seed(args.seed)
    return deadline, device


def run_training(args) -> int:
    deadline, device = start_run(args)
    rng = random.Random(args.seed)
    np_rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)

    images, labels, poor, good = load_dataset(args.data, device)
    size = args.size
    if int(images.shape[2]) < size or int(images.shape[3]) < size:
        raise RuntimeError(f"stored images are {tuple(images.shape[2:])}, smaller than the crop {size}")
    log(f"data: {int(images.shape[0])} images {tuple(images.shape[2:])}, poor {len(poor)}, good {len(good)}")

    q, width, arch = args.q, args.width, args.arch
    specs_of = {"generator": R.generator_specs(q, 1, width, arch),
                "discriminator": R.discriminator_specs(q, 1, width, arch)}
    resume = load_resume(args.resume, specs_of, args) if args.resume else None
    params = {}
    for key, (_, role, offset) in NETS.items():
        w = resume["weights"][key] if resume else R.init_weights_numpy(specs_of[role], args.seed + offset)
        params[key] = R.to_torch_params(w, device)
    g_list = [params[k][s.name] for k in ("g_a2b", "g_b2a") for s in specs_of["generator"]]
    d_list = [params[k][s.name] for k in ("d_a", "d_b") for s in specs_of["discriminator"]]
    g_opt = R.KerasAdam(g_list, lr=args.lr, **_adam_kw())
    d_opt = R.KerasAdam(d_list, lr=args.lr, **_adam_kw())
    start_step = 0
    poor_rng, good_rng = random.Random(args.seed + 10), random.Random(args.seed + 11)
    if resume:
        start_step = resume["steps"]
        g_opt.step_count = resume["gAdamStep"]
        with torch.no_grad():
            for i, (m, v) in enumerate(resume["g_moments"]):
                g_opt.m[i].copy_(m.to(device))
                g_opt.v[i].copy_(v.to(device))
        # A fresh data order and augmentation stream, not a replay of the first run's.
        rng = random.Random(f"{args.seed}/{start_step}")
        np_rng = np.random.default_rng([args.seed, start_step])
        poor_rng, good_rng = random.Random(f"{args.seed}/{start_step}/poor"), random.Random(f"{args.seed}/{start_step}/good")
        log(f"resumed from {args.resume}: step {start_step}, G Adam step {g_opt.step_count}, "
            f"D Adam restarted, pools empty")
    pool_a2b, pool_b2a = R.ImagePool(args.pool, np_rng), R.ImagePool(args.pool, np_rng)
    poor_cycle, good_cycle = Cycler(poor, poor_rng), Cycler(good, good_rng)
    eye = torch.eye(2, device=device)
    nets_to_save = ["g_a2b"]
    save_state = args.save_nets == "all"
    config = {
        "objective": "gan", "arch": arch, "upsampling": args.upsampling, "resumedFrom": {"dir": args.resume, "step": start_step} if resume else None, "q": q, "width": width, "size": size, "batch": args.batch, "lr": args.lr, "adam": R.REFERENCE_ADAM,
        "lossWeights": R.REFERENCE_WEIGHTS, "pool": args.pool, "seed": args.seed,
        "seedOffsets": {k: v[2] for k, v in NETS.items()}, "jitterMax": args.jitter_max,
        "tf32": device.type == "cuda" and not args.no_tf32, "device": str(device),
        "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
        "torch": torch.__version__, "images": int(images.shape[0]), "poor": len(poor), "good": len(good),
        "degradation": "scripts/gpu/degrade_torch.py (mirror of main/training/data/degrade.ts)",
    }
    metrics_path = os.path.join(args.out, "metrics.jsonl")
    metrics_file = open(metrics_path, "a", buffering=1)

    step = start_step
    train_start = time.monotonic()
    last_ckpt = train_start
    first_done = False
    window_start, window_steps = train_start, 0
    sums: dict[str, torch.Tensor] = {}
    correct = torch.zeros((), device=device)
    seen = 0
    last_metrics = None
    status = 0

    def info(final=False):
        return {"steps": step, "seconds": time.monotonic() - train_start, "config": config,
                "metrics": last_metrics, "final": final}

    log(f"training until {args.minutes} min after start ({max(0.0, deadline - time.monotonic()):.0f}s left), "
        f"batch {args.batch}")
    try:
        while not Stop.requested:
            now = time.monotonic()
            if now >= deadline:
                Stop.reason = "time limit"
                break
            if args.max_steps and step >= args.max_steps:
                Stop.reason = "max steps"
                break
            pi, gi = poor_cycle.take(args.batch), good_cycle.take(args.batch)
            A01 = augment(images, pi, size, args.jitter_max, rng)
            A01, _ = degrade_torch.degrade_batch(A01, rng)
            B01 = augment(images, gi, size, args.jitter_max, rng)
            A, B = A01 * 2 - 1, B01 * 2 - 1
            la, lb = eye[labels[pi]], eye[labels[gi]]

            g_total, g_terms, a2b, b2a, a2b_prob = R.generator_objective(
                params["g_a2b"], params["g_b2a"], params["d_a"], params["d_b"], A, B, la, lb, q, arch=arch,
                upsampling=args.upsampling)
            g_grads = torch.autograd.grad(g_total, g_list)
            g_opt.step(g_grads)
            del g_grads

            d_total, d_terms = R.discriminator_objective(
                params["d_a"], params["d_b"], A, B, pool_a2b(a2b.detach()), pool_b2a(b2a.detach()), q, arch=arch)
            d_grads = torch.autograd.grad(d_total, d_list)
            d_opt.step(d_grads)
            del d_grads

            step += 1
            window_steps += 1
            with torch.no_grad():
                for k, v in [("g_total", g_total), ("d_total", d_total), *g_terms.items(), *d_terms.items()]:
                    sums[k] = sums[k] + v.detach() if k in sums else v.detach().clone()
                correct += (a2b_prob.argmax(1) == labels[pi]).sum()
                seen += len(pi)

            if step % args.log_every == 0 or step == start_step + 1:
                t = time.monotonic()
                row = {k: float(v) / window_steps for k, v in sums.items()}
                row.update({"step": step, "seconds": round(t - train_start, 2),
                            "its": round(window_steps / max(t - window_start, 1e-9), 3),
                            "images_per_s": round(window_steps * args.batch / max(t - window_start, 1e-9), 3),
                            "lr": args.lr, "a2b_acc": float(correct) / max(seen, 1)})
                last_metrics = row
                metrics_file.write(json.dumps(row) + "\n")
                log(f"step {step} it/s {row['its']:.2f} G {row['g_total']:.4f} D {row['d_total']:.4f} "
                    f"cyc {row['A2B2A_cycle_loss']:.4f} acc {row['a2b_acc']:.3f}")
                sums, correct, seen = {}, torch.zeros((), device=device), 0
                window_start, window_steps = t, 0
                if not math.isfinite(row["g_total"]) or not math.isfinite(row["d_total"]):
                    log("non-finite loss: stopping (the last checkpoint is kept)")
                    status = 3
                    break
            t = time.monotonic()
            if (not first_done and t - train_start >= args.first_checkpoint) or (
                    t - last_ckpt >= args.checkpoint_every):
                save_checkpoint(args.out, nets_to_save, params, specs_of, info(),
                                g_opt if save_state else None, d_opt)
                first_done, last_ckpt = True, time.monotonic()
    except Exception:
        log("training step FAILED:\n" + traceback.format_exc())
        status = 2
    finally:
        log(f"stopping at step {step} ({Stop.reason or 'error'})")
        if step > start_step:
            save_checkpoint(args.out, nets_to_save, params, specs_of, info(final=True),
                            g_opt if save_state else None, d_opt)
        metrics_file.close()
    return status


def _read_checked(path: str, size: int, sha256: str) -> bytes:
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) != size or hashlib.sha256(blob).hexdigest() != sha256:
        raise RuntimeError(f"{path}: {len(blob)} bytes / sha256 do not match its manifest (expected {size} bytes)")
    return blob


def load_resume(resume_dir: str, specs_of, args) -> dict:
    """Reads DIR/state.json + state.bin + g_a2b.json/.bin; checks format, config, shapes, hashes."""
    state_path = os.path.join(resume_dir, "state.json")
    with open(state_path) as f:
        meta = json.load(f)
    if meta.get("format") != STATE_FORMAT:
        raise RuntimeError(f"{state_path}: format {meta.get('format')!r}, expected {STATE_FORMAT}")
    want = R.net_config("generator", args.q, 1, args.width, args.arch, args.upsampling)
    if meta["generator"] != want:
        raise RuntimeError(f"{state_path}: checkpoint generator is {meta['generator']}, this run asks for {want} "
                           "(pass the same --arch/--q/--width/--upsampling)")
    blob = _read_checked(os.path.join(resume_dir, meta["bin"]), meta["totalBytes"], meta["sha256"])
    g_meta_path = os.path.join(resume_dir, meta["g_a2b"]["json"])
    with open(g_meta_path) as f:
        g_meta = json.load(f)
    if g_meta.get("sha256") != meta["g_a2b"]["sha256"] or g_meta.get("steps") != meta["steps"]:
        raise RuntimeError(f"{g_meta_path} is not the checkpoint {state_path} pairs with (sha256/steps differ)")
    g_blob = _read_checked(os.path.join(resume_dir, meta["g_a2b"]["bin"]), g_meta["totalBytes"], g_meta["sha256"])
    rows = {r["name"]: r for r in meta["tensors"]}

    def read(name: str, shape) -> np.ndarray:
        r = rows.get(name)
        if r is None:
            raise RuntimeError(f"{state_path} has no tensor {name}")
        if tuple(r["shape"]) != tuple(shape):
            raise RuntimeError(f"{state_path}: {name} has shape {r['shape']}, expected {list(shape)}")
        if r["dtype"] == "float32":
            return np.frombuffer(blob, "<f4", r["length"], r["offset"]).reshape(shape).copy()
        raw = np.frombuffer(blob, "<i2", r["length"], r["offset"]).copy()
        return torch.from_numpy(raw).view(torch.bfloat16).float().reshape(shape)

    weights = {}
    g_rows = {r["name"]: r for r in g_meta["params"]}
    weights["g_a2b"] = {}
    for s in specs_of["generator"]:
        r = g_rows.get(s.name)
        if r is None or tuple(r["shape"]) != tuple(s.shape):
            raise RuntimeError(f"{g_meta_path}: parameter {s.name} missing or with the wrong shape")
        weights["g_a2b"][s.name] = np.frombuffer(g_blob, "<f4", r["length"], r["offset"]).reshape(s.shape).copy()
    for key in ("g_b2a", "d_a", "d_b"):
        net_name, role, _ = NETS[key]
        weights[key] = {s.name: read(f"{net_name}/{s.name}", s.shape) for s in specs_of[role]}
    g_moments = [(read(f"adam.m/{NETS[k][0]}/{s.name}", s.shape), read(f"adam.v/{NETS[k][0]}/{s.name}", s.shape))
                 for k in ("g_a2b", "g_b2a") for s in specs_of["generator"]]
    return {"weights": weights, "g_moments": g_moments, "steps": int(meta["steps"]),
            "gAdamStep": int(meta["gAdamStep"])}


# ------------------------------------------------------------------------------------------ paired objective

PAIRED_STATE_FORMAT = "r2c-paired-train-state/1"


def read_weights_json(path: str, specs, what: str) -> tuple[dict, dict]:
    """A <net>.json + .bin (r2c-gan-weights/1, e.g. g_a2b.json or scripts/gpu/export-weights.ts output):
    checks the format, sha256 and every parameter's name/shape/order. Returns (meta, weights)."""
    with open(path) as f:
        meta = json.load(f)
    if meta.get("format") != WEIGHTS_FORMAT:
        raise RuntimeError(f"{what} {path}: format {meta.get('format')!r}, expected {WEIGHTS_FORMAT}")
    bin_name = meta["bin"]
    if "/" in bin_name or "\\" in bin_name:
        raise RuntimeError(f"{what} {path}: bin must be a file name in the same folder, got {bin_name}")
    blob = _read_checked(os.path.join(os.path.dirname(path), bin_name), meta["totalBytes"], meta["sha256"])
    rows = meta["params"]
    if [r["name"] for r in rows] != [s.name for s in specs]:
        raise RuntimeError(f"{what} {path}: its parameters are not this network's (config {meta.get('config')})")
    weights = {}
    for r, s in zip(rows, specs):
        if tuple(r["shape"]) != tuple(s.shape):
            raise RuntimeError(f"{what} {path}: {s.name} has shape {r['shape']}, expected {list(s.shape)}")
        weights[s.name] = np.frombuffer(blob, "<f4", r["length"], r["offset"]).reshape(s.shape).copy()
        if not np.isfinite(weights[s.name]).all():
            raise RuntimeError(f"{what} {path}: {s.name} holds non-finite values")
    return meta, weights


def load_init(path: str, specs, args) -> dict:
    """--init: a generator's weights as the starting point (Adam starts at step 0 with zero moments).
    The kind/q/width must match the run; a transposed generator starting a resize run gets each
    upsampling kernel replaced by its closest resize kernel (run.ts initialWeightsFrom does the same)."""
    meta, weights = read_weights_json(path, specs, "--init")
    c = dict(meta.get("config") or {})
    from_up = c.pop("upsampling", "transposed")
    want = R.net_config("generator", args.q, 1, args.width, args.arch)
    if c != want:
        raise RuntimeError(f"--init {path}: its generator is {meta.get('config')}, this run asks for "
                           f"{R.net_config('generator', args.q, 1, args.width, args.arch, args.upsampling)} "
                           "(pass the same --arch/--q/--width)")
    if from_up != args.upsampling:
        if from_up == "resize":
            raise RuntimeError(f"--init {path} uses resize upsampling; this run asks for {args.upsampling}")
        for s in specs:
            if s.name.split(".")[0] in UPSAMPLING_LAYERS and s.name.endswith(".weight"):
                weights[s.name] = R.transposed_to_resize_kernel(weights[s.name])
        log("--init: transposed upsampling kernels converted to their closest resize kernels")
    log(f"--init: generator weights from {path} ({meta.get('steps', 0)} steps, source {meta.get('source', '?')})")
    return weights


def save_paired_checkpoint(out_dir, specs, params, ema, opt, info, trained=None) -> bool:
    """g_a2b.bin/.json = the EXPORTED weights (the average when the run keeps one, else the trained
    weights); state.bin/.json = all weights (float32) + Adam m, v (bfloat16) of the `trained` specs
    (default all; the optimiser's params, in order) + the recipe, to resume. Refuses non-finite
    weights. Never raises."""
    try:
        c = info["config"]
        exported = ema if ema is not None else [params[s.name] for s in specs]
        for s, t in zip(specs, exported):
            if not bool(torch.isfinite(t).all()) or not bool(torch.isfinite(params[s.name]).all()):
                log(f"checkpoint skipped: parameter {s.name} is not finite")
                return False
        blob, rows = R.flatten_params(specs, {s.name: t for s, t in zip(specs, exported)})
        gen = R.net_config("generator", c["q"], 1, c["width"], c["arch"], c["upsampling"])
        meta = {
            "format": WEIGHTS_FORMAT, "net": "G", "config": gen, "dtype": "float32", "byteOrder": "little",
            "bin": "g_a2b.bin", "totalBytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest(),
            "weights": "ema" if ema is not None else "trained",
            "steps": info["steps"], "seconds": round(info["seconds"], 1), "final": info.get("final", False),
            "lr": info.get("lr"), "train": c, "lastMetrics": info.get("metrics"), "params": rows,
        }
        write_atomic(os.path.join(out_dir, "g_a2b.bin"), blob)
        write_atomic(os.path.join(out_dir, "g_a2b.json"), json.dumps(meta, indent=1).encode())
        chunks, srows, offset = [], [], 0

        def add(name, t, dtype):
            nonlocal offset
            b = _bf16_bytes(t) if dtype == "bfloat16" else np.ascontiguousarray(
                t.detach().to("cpu", torch.float32).numpy(), dtype="<f4").tobytes()
            srows.append({"name": name, "dtype": dtype, "shape": list(t.shape), "offset": offset,
                          "length": int(t.numel())})
            chunks.append(b)
            offset += len(b)

        for s in specs:
            add(f"G/{s.name}", params[s.name], "float32")
        for s, m, v in zip(trained if trained is not None else specs, opt.m, opt.v, strict=True):
            add(f"adam.m/G/{s.name}", m, "bfloat16")
            add(f"adam.v/G/{s.name}", v, "bfloat16")
        sblob = b"".join(chunks)
        smeta = {
            "format": PAIRED_STATE_FORMAT, "objective": "paired", "generator": gen,
            "steps": info["steps"], "seconds": round(info["seconds"], 1), "final": info.get("final", False),
            "adamStep": opt.step_count, "recipe": info["recipe"],
            "g_a2b": {"json": "g_a2b.json", "bin": "g_a2b.bin", "sha256": meta["sha256"], "holds": meta["weights"]},
            "train": c, "bin": "state.bin", "totalBytes": len(sblob), "sha256": hashlib.sha256(sblob).hexdigest(),
            "note": "G/* = the trained weights (float32); g_a2b.bin holds the exported weights (the average "
                    "when emaDecay is set); adam.* rows are bfloat16 (upper 16 bits of float32), little-endian",
            "tensors": srows,
        }
        write_atomic(os.path.join(out_dir, "state.bin"), sblob)
        write_atomic(os.path.join(out_dir, "state.json"), json.dumps(smeta, indent=1).encode())
        log(f"checkpoint at step {info['steps']} (g_a2b = {meta['weights']} weights + state)")
        return True
    except Exception:  # a failed write must not end the run
        log("checkpoint write FAILED:\n" + traceback.format_exc())
        return False


def load_paired_resume(resume_dir: str, specs, args) -> dict:
    """DIR/state.json + state.bin (+ g_a2b.json/.bin: the average) written by a paired run."""
    state_path = os.path.join(resume_dir, "state.json")
    with open(state_path) as f:
        meta = json.load(f)
    if meta.get("format") != PAIRED_STATE_FORMAT:
        raise RuntimeError(f"{state_path}: format {meta.get('format')!r}, expected {PAIRED_STATE_FORMAT} "
                           "(a checkpoint of --objective paired)")
    want = R.net_config("generator", args.q, 1, args.width, args.arch, args.upsampling)
    if meta["generator"] != want:
        raise RuntimeError(f"{state_path}: checkpoint generator is {meta['generator']}, this run asks for {want} "
                           "(pass the same --arch/--q/--width/--upsampling)")
    blob = _read_checked(os.path.join(resume_dir, meta["bin"]), meta["totalBytes"], meta["sha256"])
    rows = {r["name"]: r for r in meta["tensors"]}

    def read(name: str, shape):
        r = rows.get(name)
        if r is None or tuple(r["shape"]) != tuple(shape):
            raise RuntimeError(f"{state_path}: tensor {name} is missing or has the wrong shape")
        if r["dtype"] == "float32":
            return np.frombuffer(blob, "<f4", r["length"], r["offset"]).reshape(shape).copy()
        raw = np.frombuffer(blob, "<i2", r["length"], r["offset"]).copy()
        return torch.from_numpy(raw).view(torch.bfloat16).float().reshape(shape)

    g_meta, g_weights = read_weights_json(os.path.join(resume_dir, meta["g_a2b"]["json"]), specs, "resume")
    train_only = meta["recipe"].get("trainOnly")  # absent in checkpoints from before --train-only: all
    trained = specs if train_only is None else R.check_train_only(specs, train_only)
    if g_meta["sha256"] != meta["g_a2b"]["sha256"] or g_meta.get("steps") != meta["steps"]:
        raise RuntimeError(f"{resume_dir}: g_a2b.json is not the checkpoint {state_path} pairs with (sha256/steps differ)")
    return {
        "weights": {s.name: read(f"G/{s.name}", s.shape) for s in specs},
        "ema": g_weights if meta["g_a2b"]["holds"] == "ema" else None,
        "moments": [(read(f"adam.m/G/{s.name}", s.shape), read(f"adam.v/G/{s.name}", s.shape)) for s in trained],
        "steps": int(meta["steps"]), "adamStep": int(meta["adamStep"]), "recipe": meta["recipe"],
    }


def trained_subset(tensors, specs, trained):
    """The entries of a per-spec list (e.g. the average) that belong to the trained specs, in order."""
    if tensors is None:
        return None
    keep = {s.name for s in trained}
    return [t for s, t in zip(specs, tensors, strict=True) if s.name in keep]


def paired_train_step(args, params, plist, opt, batch, lr, l1_weight, class_weight):
    """One paired step (the training loop's, the step timing's and the trainOnly parity's): objective,
    gradients w.r.t. plist (the trained parameters only), Keras Adam at lr.
    Returns (total, terms, probabilities, grads)."""
    inp, tgt, lab = batch
    opt.lr = lr
    total, terms, _, prob = R.paired_objective(params, inp, tgt, lab, args.q, args.arch, args.upsampling,
                                               l1_weight, class_weight)
    grads = torch.autograd.grad(total, plist)
    opt.step(grads)
    return total, terms, prob, grads


class PairedBatches:
    """createPairedSampler on the GPU: every training image (both halves of labels.csv) in a fresh
    random order per pass; per image: augment (the stored 286 px image, random `side` crop, random
    flip), then with probability cleanFraction the clean crop is the input, else degrade_torch on the
    crop (blur sizes scale with the crop side, as degrade.ts does). Target = the clean crop. [-1, 1]."""

    def __init__(self, images, labels, items, clean_fraction, jitter_max, seed):
        self.images, self.labels, self.clean_fraction, self.jitter_max = images, labels, clean_fraction, jitter_max
        self.cycle = Cycler(items, random.Random(f"{seed}/paired-order"))
        self.rng = random.Random(f"{seed}/paired-augment")
        self.eye = torch.eye(2, device=images.device)

    def take(self, batch: int, side: int):
        idx = self.cycle.take(batch)
        clean = augment(self.images, idx, side, self.jitter_max, self.rng)
        inputs = []
        for img in clean:
            if self.rng.random() < self.clean_fraction:
                inputs.append(img)
            else:
                inputs.append(degrade_torch.degrade(img, self.rng)[0])
        inp = torch.stack(inputs, dim=0)
        return inp * 2 - 1, clean * 2 - 1, self.eye[self.labels[idx]], idx


def _phase_side(step: int, recipe: dict) -> int:
    return recipe["cropSize"] if recipe["cropSize"] and step < recipe["cropSteps"] else recipe["size"]


def _timed_steps(specs, params, batches, args, side: int, count: int, warmup: int, device) -> float:
    """Seconds per step of the whole paired step (data, forward, backward, Adam) at `side`, on a
    throwaway copy of the weights and a separate data stream (the run's streams are not touched)."""
    copy = {s.name: params[s.name].detach().clone() for s in specs}
    plist = [copy[s.name] for s in R.trained_specs(specs, copy, args.train_only)]
    opt = R.KerasAdam(plist, lr=args.lr, **_adam_kw())
    elapsed = 0.0
    for i in range(warmup + count):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.monotonic()
        inp, tgt, lab, _ = batches.take(args.batch, side)
        paired_train_step(args, copy, plist, opt, (inp, tgt, lab), args.lr, args.l1_weight, args.class_weight)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            elapsed += time.monotonic() - t0
    return elapsed / count


def plan_budget(args, specs, params, images, labels, items, deadline, device) -> tuple[int, int, dict]:
    """--steps auto: times the step at the crop size and at the full size, then picks the step budget
    that ends (with a margin) before the deadline; the crop phase is --crop-steps, or --crop-fraction of
    the budget. Returns (steps, crop_steps, timing)."""
    bench = PairedBatches(images, labels, items, args.clean_fraction, args.jitter_max, f"{args.seed}/bench")
    t_full = _timed_steps(specs, params, bench, args, args.size, args.bench_steps, 3, device)
    t_crop = (_timed_steps(specs, params, bench, args, args.crop_size, args.bench_steps, 3, device)
              if args.crop_size else t_full)
    left = (deadline - time.monotonic()) * 0.94 - args.reserve_seconds
    if left <= 0:
        raise RuntimeError(f"no time left for training after timing the step ({deadline - time.monotonic():.0f}s left)")
    if not args.crop_size:
        steps, crop = int(left / t_full), 0
    elif args.crop_steps is not None:
        crop = min(args.crop_steps, int(left / t_crop))
        steps = crop + int(max(0.0, left - crop * t_crop) / t_full)
    else:
        f = args.crop_fraction
        steps = int(left / (f * t_crop + (1 - f) * t_full))
        crop = int(round(f * steps))
    if steps < 1:
        raise RuntimeError(f"the step takes {t_full:.2f}s: no step fits in the {left:.0f}s left")
    timing = {"secondsPerStepCrop": round(t_crop, 5), "secondsPerStepFull": round(t_full, 5),
              "benchSteps": args.bench_steps, "plannedSeconds": round(left, 1)}
    log(f"step budget: {t_crop * 1e3:.1f} ms/step at {args.crop_size or args.size} px, {t_full * 1e3:.1f} ms/step at "
        f"{args.size} px, {left:.0f}s to spend -> {steps} steps ({crop} on crops)")
    return steps, crop, timing


def run_paired_training(args) -> int:
    deadline, device = start_run(args)
    os.makedirs(args.out, exist_ok=True)

    images, labels, poor, good = load_dataset(args.data, device)
    items = sorted(set(poor) | set(good))  # the paired objective trains on every training image
    for side in (args.size, args.crop_size or args.size):
        if int(images.shape[2]) < side or int(images.shape[3]) < side:
            raise RuntimeError(f"stored images are {tuple(images.shape[2:])}, smaller than the crop {side}")
    log(f"data: {len(items)} training images {tuple(images.shape[2:])}, each degraded on the fly "
        f"({args.clean_fraction} clean)")

    specs = R.generator_specs(args.q, 1, args.width, args.arch)
    resume = load_paired_resume(args.resume, specs, args) if args.resume else None
    if resume:
        w = resume["weights"]
    elif args.init:
        w = load_init(args.init, specs, args)
    else:
        w = R.init_weights_numpy(specs, args.seed)
    params = R.to_torch_params(w, device)
    # trainOnly: a resumed run keeps its checkpoint's (its Adam state covers those parameters only).
    train_only = resume["recipe"].get("trainOnly") if resume else args.train_only
    trained = R.trained_specs(specs, params, train_only)
    plist = [params[s.name] for s in trained]
    opt = R.KerasAdam(plist, lr=args.lr, **_adam_kw())
    step = 0
    timing = None
    if resume:
        recipe = resume["recipe"]
        for key, value in (("size", args.size), ("cropSize", args.crop_size), ("emaDecay", args.ema_decay),
                           ("l1Weight", args.l1_weight), ("classWeight", args.class_weight),
                           ("cleanFraction", args.clean_fraction), ("trainOnly", args.train_only)):
            if recipe.get(key) != value:
                log(f"resume: {key} {recipe.get(key)} from the checkpoint (this command said {value})")
        step = resume["steps"]
        opt.step_count = resume["adamStep"]
        with torch.no_grad():
            for i, (m, v) in enumerate(resume["moments"]):
                opt.m[i].copy_(m.to(device))
                opt.v[i].copy_(v.to(device))
        if args.steps not in (None, "auto"):
            recipe = {**recipe, "steps": int(args.steps)}
        log(f"resumed from {args.resume}: step {step} of {recipe['steps']}, Adam step {opt.step_count}")
    else:
        recipe = {"size": args.size, "cropSize": args.crop_size, "cropSteps": 0, "steps": 0, "lr": args.lr,
                  "decayStart": args.decay_start, "emaDecay": args.ema_decay, "l1Weight": args.l1_weight,
                  "classWeight": args.class_weight, "cleanFraction": args.clean_fraction, "batch": args.batch,
                  "trainOnly": args.train_only}
        if args.steps in (None, "auto"):
            recipe["steps"], recipe["cropSteps"], timing = plan_budget(
                args, specs, params, images, labels, items, deadline, device)
        else:
            recipe["steps"] = int(args.steps)
            if args.crop_size:
                recipe["cropSteps"] = (args.crop_steps if args.crop_steps is not None
                                       else int(round(args.crop_fraction * recipe["steps"])))
        if recipe["decayStart"] >= recipe["steps"]:
            raise RuntimeError(f"--decay-start {recipe['decayStart']} must be below the step budget {recipe['steps']}")
    ema = None
    if recipe["emaDecay"]:
        src = resume["ema"] if resume and resume["ema"] is not None else None
        ema = ([torch.tensor(src[s.name], device=device) for s in specs] if src is not None
               else [params[s.name].detach().clone() for s in specs])
    ema_trained = trained_subset(ema, specs, trained)
    seed_key = f"{args.seed}/{step}" if resume else args.seed  # a resumed run draws fresh data, not a replay
    batches = PairedBatches(images, labels, items, recipe["cleanFraction"], args.jitter_max, seed_key)
    config = {
        "objective": "paired", "arch": args.arch, "q": args.q, "width": args.width, "upsampling": args.upsampling,
        "recipe": recipe, "adam": R.REFERENCE_ADAM, "seed": args.seed, "jitterMax": args.jitter_max,
        "init": args.init, "trainOnly": train_only,
        "resumedFrom": {"dir": args.resume, "step": resume["steps"]} if resume else None,
        "stepTiming": timing, "tf32": device.type == "cuda" and not args.no_tf32, "device": str(device),
        "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None, "torch": torch.__version__,
        "images": len(items), "degradation": "scripts/gpu/degrade_torch.py (mirror of main/training/data/degrade.ts)",
    }
    metrics_file = open(os.path.join(args.out, "metrics.jsonl"), "a", buffering=1)
    start_step = step
    total_steps = recipe["steps"]
    train_start = time.monotonic()
    last_ckpt, first_done = train_start, False
    window_start, window_steps = train_start, 0
    sums: dict[str, torch.Tensor] = {}
    correct, seen = torch.zeros((), device=device), 0
    last_metrics, status, lr = None, 0, recipe["lr"]

    def info(final=False):
        return {"steps": step, "seconds": time.monotonic() - train_start, "config": config, "recipe": recipe,
                "metrics": last_metrics, "final": final, "lr": lr}

    log(f"paired training: {total_steps} steps ({recipe['cropSteps']} at {recipe['cropSize']} px, then "
        f"{recipe['size']} px), lr {recipe['lr']} -> 0 from step {recipe['decayStart']}, EMA {recipe['emaDecay']}, "
        f"batch {recipe['batch']}, until {args.minutes} min after start")
    if train_only is not None:
        log(f"trainOnly {','.join(train_only)}: {len(trained)} of {len(specs)} parameter tensors train "
            f"({sum(s.size for s in trained)} of {sum(s.size for s in specs)} values), the rest stay as initialised")
    try:
        while not Stop.requested:
            if step >= total_steps:
                Stop.reason = "step budget done"
                break
            if time.monotonic() >= deadline:
                Stop.reason = f"time limit at step {step} of {total_steps} (the lr had not reached 0)"
                break
            side = _phase_side(step, recipe)
            inp, tgt, lab, idx = batches.take(recipe["batch"], side)
            lr = R.learning_rate_at(recipe["lr"], recipe["decayStart"], total_steps, step)
            total, terms, prob, _ = paired_train_step(args, params, plist, opt, (inp, tgt, lab), lr,
                                                      recipe["l1Weight"], recipe["classWeight"])
            step += 1
            if ema is not None:
                R.ema_update(ema_trained, plist, recipe["emaDecay"], step)
            window_steps += 1
            with torch.no_grad():
                for k, v in [("total", total), *terms.items()]:
                    sums[k] = sums[k] + v.detach() if k in sums else v.detach().clone()
                correct += (prob.argmax(1) == labels[idx]).sum()
                seen += len(idx)
            if step % args.log_every == 0 or step == start_step + 1 or step == total_steps:
                t = time.monotonic()
                row = {k: float(v) / window_steps for k, v in sums.items()}
                row.update({"step": step, "side": side, "seconds": round(t - train_start, 2),
                            "its": round(window_steps / max(t - window_start, 1e-9), 3),
                            "lr": lr, "acc": float(correct) / max(seen, 1)})
                last_metrics = row
                metrics_file.write(json.dumps(row) + "\n")
                log(f"step {step}/{total_steps} {side}px it/s {row['its']:.2f} total {row['total']:.4f} "
                    f"l1 {row['l1']:.4f} ce {row['ce']:.4f} acc {row['acc']:.3f} lr {lr:.2e}")
                sums, correct, seen = {}, torch.zeros((), device=device), 0
                window_start, window_steps = t, 0
                if not math.isfinite(row["total"]):
                    log("non-finite loss: stopping (the last checkpoint is kept)")
                    status = 3
                    break
            t = time.monotonic()
            if (not first_done and t - train_start >= args.first_checkpoint) or t - last_ckpt >= args.checkpoint_every:
                save_paired_checkpoint(args.out, specs, params, ema, opt, info(), trained)
                first_done, last_ckpt = True, time.monotonic()
    except Exception:
        log("training step FAILED:\n" + traceback.format_exc())
        status = 2
    finally:
        log(f"stopping at step {step} ({Stop.reason or 'error'})")
        if step > start_step:
            save_paired_checkpoint(args.out, specs, params, ema, opt, info(final=True), trained)
        metrics_file.close()
    return status


def parse_train_only(text: str) -> list[str]:
    """--train-only 'dec,res': the prefixes, blanks dropped ('' = an empty list, which is refused)."""
    return [p.strip() for p in text.split(",") if p.strip()]


def _adam_kw():
    a = R.REFERENCE_ADAM
    return {"beta1": a["beta1"], "beta2": a["beta2"], "epsilon": a["epsilon"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=".gpu-data")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=5.0, help="wall clock, counted from process start")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--arch", choices=list(R.ARCHS), default="operational")
    ap.add_argument("--upsampling", choices=list(R.UPSAMPLINGS), default="transposed",
                    help="generator x2 upsampling: transposed (the reference) or resize (nearest x2 + 3x3 conv)")
    ap.add_argument("--objective", choices=["gan", "paired"], default="gan",
                    help="gan: R2C-GAN (4 nets); paired: one generator, l1Weight*L1(G(degraded), clean) + classWeight*CE")
    ap.add_argument("--l1-weight", type=float, default=10.0, help="paired: L1 weight (engine default 10)")
    ap.add_argument("--class-weight", type=float, default=1.0, help="paired: CE weight (engine default 1)")
    ap.add_argument("--clean-fraction", type=float, default=0.25, help="paired: share of steps fed the clean image")
    ap.add_argument("--crop-size", type=int, default=0, help="paired: crop side of the first phase (0 = no crop phase)")
    ap.add_argument("--crop-steps", type=int, default=None, help="paired: steps on crops (default: --crop-fraction)")
    ap.add_argument("--crop-fraction", type=float, default=0.8, help="paired: share of the step budget on crops")
    ap.add_argument("--ema-decay", type=float, default=None, help="paired: weight average decay (exported); off if unset")
    ap.add_argument("--steps", default=None,
                    help="paired: step budget of the lr schedule (and the run), or 'auto' (default): timed so the "
                         "schedule ends before --minutes")
    ap.add_argument("--decay-start", type=int, default=0, help="paired: the lr decays linearly from here to 0 at --steps")
    ap.add_argument("--init", default=None, help="paired: start from these generator weights (<net>.json, e.g. from "
                                                 "scripts/gpu/export-weights.ts)")
    ap.add_argument("--train-only", default=None, metavar="P1,P2",
                    help="paired: train only these parameters (comma-separated engine-name prefixes: P matches "
                         "P and P.*, e.g. dec = the output layer); the others stay as initialised (trainOnly)")
    ap.add_argument("--bench-steps", type=int, default=10, help="paired --steps auto: timed steps per size")
    ap.add_argument("--reserve-seconds", type=float, default=20.0, help="paired --steps auto: time kept for the end")
    ap.add_argument("--q", type=int, default=3, help="operational order (ignored by convolutional-light: q = 1)")
    ap.add_argument("--width", type=int, default=64, help="engine NetConfig.width (64 = the reference)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--lr", type=float, default=R.REFERENCE_LR)
    ap.add_argument("--pool", type=int, default=50)
    ap.add_argument("--jitter-max", type=int, default=0, help="scale jitter: max resize side (0 = off)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--first-checkpoint", type=float, default=60.0)
    ap.add_argument("--checkpoint-every", type=float, default=120.0)
    ap.add_argument("--save-nets", choices=["g_a2b", "all"], default="all")
    ap.add_argument("--max-steps", type=int, default=0, help="stop at this total step count (0 = no limit)")
    ap.add_argument("--resume", default=None, help="folder holding state.json/.bin + g_a2b.json/.bin")
    ap.add_argument("--no-tf32", action="store_true")
    ap.add_argument("--parity", action="store_true")
    ap.add_argument("--parity-step", action="store_true", help="with --parity: also one G and one D step")
    ap.add_argument("--parity-paired", action="store_true", help="with --parity: also one paired step + EMA update")
    args = ap.parse_args()
    if args.size % 8 != 0 or args.batch < 1 or args.minutes <= 0:
        ap.error("--size must be a multiple of 8, --batch >= 1, --minutes > 0")
    if args.arch != "operational":
        args.q = 1
    if args.train_only is not None:
        if args.objective != "paired" and not (args.parity and args.parity_paired):
            ap.error("--train-only is supported with --objective paired (or --parity --parity-paired) only")
        args.train_only = parse_train_only(args.train_only)
        try:  # the engine's checks and messages (SupervisedTrainer.create)
            R.check_train_only(R.generator_specs(args.q, 1, args.width, args.arch), args.train_only)
        except ValueError as e:
            ap.error(str(e))
    if args.resume and args.save_nets != "all" and args.objective == "gan":
        ap.error("--resume needs --save-nets all (otherwise the run could not be resumed again)")
    if args.objective == "gan":
        for flag, value in (("--crop-size", args.crop_size), ("--crop-steps", args.crop_steps),
                            ("--ema-decay", args.ema_decay), ("--steps", args.steps), ("--init", args.init)):
            if value:
                ap.error(f"{flag} is supported with --objective paired only")
    else:
        if args.steps not in (None, "auto") and not (args.steps.isdigit() and int(args.steps) > 0):
            ap.error("--steps must be a positive whole number or auto")
        if args.crop_size and (args.crop_size % 8 != 0 or args.crop_size < 16 or args.crop_size > args.size):
            ap.error("--crop-size must be a multiple of 8, at least 16 and at most --size")
        if args.ema_decay is not None and not 0 < args.ema_decay < 1:
            ap.error("--ema-decay must be in (0, 1)")
        if not 0 <= args.clean_fraction < 1 or not 0 <= args.crop_fraction <= 1:
            ap.error("--clean-fraction must be in [0, 1), --crop-fraction in [0, 1]")
        if args.resume and args.init:
            ap.error("--resume and --init exclude each other")
    log(f"python {sys.version.split()[0]}, torch {torch.__version__}, numpy {np.__version__}")
    if args.parity:
        return run_parity(args)
    return run_paired_training(args) if args.objective == "paired" else run_training(args)


if __name__ == "__main__":
    sys.exit(main())
