#!/usr/bin/env python3
"""Short GPU training run of R2C-GAN (operational, Q=3) whose weights the TS engine imports.

  python3 scripts/gpu/train.py --parity --out OUT [--seed S]
      CPU float32 forward of G and D (engine init from the seed, biases/scales perturbed) on two fixed
      ramp images; writes OUT/parity.bin + OUT/parity.json for import-weights.ts --parity.
  python3 scripts/gpu/train.py --data .gpu-data --out OUT --minutes M [--batch 1] [--seed S]
      trains until M minutes after this process started (or SIGTERM/SIGINT), writing
      OUT/metrics.jsonl and checkpoints OUT/g_a2b.bin/.json (+ g_b2a, d_a, d_b with --save-nets all):
      first after --first-checkpoint seconds, then every --checkpoint-every seconds, and at the end.

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
PARITY_FORMAT = "r2c-gan-parity/1"
# Seed offsets per network: G_A2B = seed, G_B2A = seed + 1, D_A = seed + 2, D_B = seed + 3.
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
    q = args.q
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
            total, terms, a2b, b2a, _ = R.generator_objective(P["G_A2B"], P["G_B2A"], P["D_A"], P["D_B"], A, B, la, lb, q)
            fakes = (a2b.detach(), b2a.detach())
        else:
            pool_a2b, pool_b2a = R.ImagePool(50), R.ImagePool(50)  # empty pools return their input
            total, terms = R.discriminator_objective(P["D_A"], P["D_B"], A, B, pool_a2b(fakes[0]), pool_b2a(fakes[1]), q)
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


def run_parity(args) -> int:
    torch.set_num_threads(max(1, min(16, os.cpu_count() or 1)))
    q, width = args.q, args.width
    g_specs, d_specs = R.generator_specs(q, 1, width), R.discriminator_specs(q, 1, width)
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
            r = R.generator_forward(g, x, q)
            dout = R.discriminator_forward(d, x, q)
            tensors.append((f"input/{i}", x_np))
            for key in ("output", "logits", "probabilities", "features"):
                tensors.append((f"G/{key}/{i}", r[key].numpy()))
            tensors.append((f"D/output/{i}", dout.numpy()))
            log(f"parity input {i} {list(x_np.shape)}: restored {list(r['output'].shape)}, "
                f"probabilities {r['probabilities'].numpy().round(5).tolist()}, D {list(dout.shape)}")
    step_meta = None
    if args.parity_step:
        step_meta = step_parity(args, g_specs, d_specs, g_np, d_np, inputs[0], tensors)
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
        "generator": R.net_config("generator", q, 1, width),
        "discriminator": R.net_config("discriminator", q, 1, width),
        "inputs": len(inputs),
        "step": step_meta,
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


def save_checkpoint(out_dir, nets_to_save, params, specs_of, info) -> bool:
    """Writes <net>.bin + <net>.json per net; refuses non-finite weights. Never raises."""
    try:
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
                "config": R.net_config(role, info["config"]["q"], 1, info["config"]["width"]),
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
        log(f"checkpoint at step {info['steps']} ({', '.join(nets_to_save)})")
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


def run_training(args) -> int:
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
    rng = random.Random(args.seed)
    np_rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)

    images, labels, poor, good = load_dataset(args.data, device)
    size = args.size
    if int(images.shape[2]) < size or int(images.shape[3]) < size:
        raise RuntimeError(f"stored images are {tuple(images.shape[2:])}, smaller than the crop {size}")
    log(f"data: {int(images.shape[0])} images {tuple(images.shape[2:])}, poor {len(poor)}, good {len(good)}")

    q, width = args.q, args.width
    specs_of = {"generator": R.generator_specs(q, 1, width), "discriminator": R.discriminator_specs(q, 1, width)}
    params = {}
    for key, (_, role, offset) in NETS.items():
        params[key] = R.to_torch_params(R.init_weights_numpy(specs_of[role], args.seed + offset), device)
    g_list = [params[k][s.name] for k in ("g_a2b", "g_b2a") for s in specs_of["generator"]]
    d_list = [params[k][s.name] for k in ("d_a", "d_b") for s in specs_of["discriminator"]]
    g_opt = R.KerasAdam(g_list, lr=args.lr, **_adam_kw())
    d_opt = R.KerasAdam(d_list, lr=args.lr, **_adam_kw())
    pool_a2b, pool_b2a = R.ImagePool(args.pool, np_rng), R.ImagePool(args.pool, np_rng)
    poor_cycle, good_cycle = Cycler(poor, random.Random(args.seed + 10)), Cycler(good, random.Random(args.seed + 11))
    eye = torch.eye(2, device=device)
    nets_to_save = list(NETS) if args.save_nets == "all" else ["g_a2b"]
    config = {
        "q": q, "width": width, "size": size, "batch": args.batch, "lr": args.lr, "adam": R.REFERENCE_ADAM,
        "lossWeights": R.REFERENCE_WEIGHTS, "pool": args.pool, "seed": args.seed,
        "seedOffsets": {k: v[2] for k, v in NETS.items()}, "jitterMax": args.jitter_max,
        "tf32": device.type == "cuda" and not args.no_tf32, "device": str(device),
        "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
        "torch": torch.__version__, "images": int(images.shape[0]), "poor": len(poor), "good": len(good),
        "degradation": "scripts/gpu/degrade_torch.py (mirror of main/training/data/degrade.ts)",
    }
    metrics_path = os.path.join(args.out, "metrics.jsonl")
    metrics_file = open(metrics_path, "a", buffering=1)

    step = 0
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
            pi, gi = poor_cycle.take(args.batch), good_cycle.take(args.batch)
            A01 = augment(images, pi, size, args.jitter_max, rng)
            A01, _ = degrade_torch.degrade_batch(A01, rng)
            B01 = augment(images, gi, size, args.jitter_max, rng)
            A, B = A01 * 2 - 1, B01 * 2 - 1
            la, lb = eye[labels[pi]], eye[labels[gi]]

            g_total, g_terms, a2b, b2a, a2b_prob = R.generator_objective(
                params["g_a2b"], params["g_b2a"], params["d_a"], params["d_b"], A, B, la, lb, q)
            g_grads = torch.autograd.grad(g_total, g_list)
            g_opt.step(g_grads)
            del g_grads

            d_total, d_terms = R.discriminator_objective(
                params["d_a"], params["d_b"], A, B, pool_a2b(a2b.detach()), pool_b2a(b2a.detach()), q)
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

            if step % args.log_every == 0 or step == 1:
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
                save_checkpoint(args.out, nets_to_save, params, specs_of, info())
                first_done, last_ckpt = True, time.monotonic()
    except Exception:
        log("training step FAILED:\n" + traceback.format_exc())
        status = 2
    finally:
        log(f"stopping at step {step} ({Stop.reason or 'error'})")
        if step > 0:
            save_checkpoint(args.out, nets_to_save, params, specs_of, info(final=True))
        metrics_file.close()
    return status


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
    ap.add_argument("--q", type=int, default=3)
    ap.add_argument("--width", type=int, default=64, help="engine NetConfig.width (64 = the reference)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--lr", type=float, default=R.REFERENCE_LR)
    ap.add_argument("--pool", type=int, default=50)
    ap.add_argument("--jitter-max", type=int, default=0, help="scale jitter: max resize side (0 = off)")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--first-checkpoint", type=float, default=60.0)
    ap.add_argument("--checkpoint-every", type=float, default=120.0)
    ap.add_argument("--save-nets", choices=["g_a2b", "all"], default="all")
    ap.add_argument("--no-tf32", action="store_true")
    ap.add_argument("--parity", action="store_true")
    ap.add_argument("--parity-step", action="store_true", help="with --parity: also one G and one D step")
    args = ap.parse_args()
    if args.size % 8 != 0 or args.batch < 1 or args.minutes <= 0:
        ap.error("--size must be a multiple of 8, --batch >= 1, --minutes > 0")
    log(f"python {sys.version.split()[0]}, torch {torch.__version__}, numpy {np.__version__}")
    if args.parity:
        return run_parity(args)
    return run_training(args)


if __name__ == "__main__":
    sys.exit(main())
