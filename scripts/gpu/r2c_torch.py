"""PyTorch mirror of the R2C-GAN generator/discriminator and training step: the operational
(Q=1..3) networks and the compact CNN ('convolutional-light', compactGenerator/compactDiscriminator).

The TypeScript engine (models/nets.ts, models/graph.ts, models/training.ts) is canonical; this file
exists only so a short GPU run can train weights the engine then imports (scripts/gpu/import-weights.ts).

Mapping notes (each one checked against the engine source):
- Layout NCHW. Parameter names, shapes and ORDER are the engine's ParamSpec list
  (Layers.conv/convT/norm/dense in models/nets.ts): per operational layer the q kernels are declared
  as `<layer>.q1.weight`, `<layer>.q1.bias`, `<layer>.q2.weight`, ... (weight then bias per order).
  Conv weight [out, in, kh, kw]; ConvTranspose weight [in, out, kh, kw] (same as torch's
  conv_transpose2d); Dense weight [in, out] (used as `pooled @ W + b`).
- Operational layer = ONE conv over cat([x, x^2, x^3], channels) with the q kernels concatenated on
  Cin (axis 1 for Conv, axis 0 for ConvTranspose, i.e. Cin of the [in,out,k,k] layout); the bias is
  the sum of the per-order biases (emitConv/emitConvT, sumParams).
- 'same' padding for convs is TensorFlow's: out = ceil(n/s), total = max((out-1)*s + k - n, 0),
  before = total // 2, after = the rest (graph.ts samePads), zero padding. The engine computes it
  from a static size, or from s*16 for a symbolic size (nets.ts padsFor); both agree whenever the
  size is a multiple of the stride, which sizeMultiple() enforces. Here it is computed from the
  actual size (TF semantics).
  Generator enc (k3 s2): pads top/left 0, bottom/right 1. Discriminator c1 (k4 s2): 1/1, c2 (k4 s4):
  0/0, c3 (k4 s1): 1/2.
- ConvTranspose 'same' (emitConvT): total = max(k - s, 0), ONNX pads [b, b, total-b, total-b] with
  b = total // 2, i.e. the full transposed conv (size s*(n-1)+k) cropped by b at the start and
  total-b at the end: for k3 s2 that is crop 0 before, 1 after -> output 2n. Done here as
  conv_transpose2d(padding=0) followed by that crop.
- InstanceNorm = ONNX InstanceNormalization: per (n, c) mean and BIASED variance over H, W,
  epsilon IN_EPSILON = 1e-3 (tfa default), then * scale + bias (F.instance_norm does the same).
- Residual block: r = reflectpad1(tanh(h)); r = tanh(IN(conv1(r))); r = reflectpad1(r);
  r = IN(conv2(r)); h = tanh(h + r)  (skip adds h, the block input BEFORE its tanh). ONNX 'reflect'
  padding excludes the edge sample, the same as torch 'reflect'.
- Classifier: ReduceMax over H, W -> [N, C] -> MatMul [C, 2] + bias -> softmax (index 0 normal,
  1 COVID-19). features = h after the residual block; restored = tanh(convT(h)).
- Discriminator: leaky(c1) -> leaky(IN(c2)) -> leaky(c3), alpha 0.2, patch output.
- Compact CNN ('convolutional-light', nets.ts compactGenerator/compactDiscriminator): plain convs
  named `<layer>.weight`/`<layer>.bias` (no `.qI`), config q = 1. G: h = relu(IN(enc(x))) (k3 s2
  same); resBlockRelu: r = relu(IN(conv1(reflectpad1(h)))); r = IN(conv2(reflectpad1(r))); h = h + r
  (NO activation after the add, and none before the block); classifier on h; output tanh(dec(h))
  (convT k3 s2 same, bias). D: leaky(c1 k4 s2, bias) -> leaky(IN(c2 k4 s4)) -> c3 k4 s1 with bias and
  NO activation (raw patch scores). Same shapes/padding as the operational nets with q = 1.
- Upsampling option (nets.ts NetConfig.upsampling; absent = 'transposed', the reference): 'resize' =
  nearest-neighbour x2, then a 3x3 'same' (zero-padded, pads 1/1) (operational) conv whose kernel is
  stored in the TRANSPOSED layout [in, out, 3, 3] under the same names/shapes as the transposed
  'dec' layer (so both variants have identical parameter lists). Here: conv2d(pad1(nearest2(x^k)),
  W.transpose(0, 1)), i.e. the same [in,out] kernel used as a correlation with no spatial flip. The
  engine computes it as a 4x4 stride-2 ConvTranspose (pads 1,1,1,1) with the 4x4 kernel
  K4[a,b] = sum_ij W[i,j] T[a][i] T[b][j], T = RESIZE_TAPS (emitResizeConv); resize_conv_as_transposed
  below is that form, equal up to float rounding (checked by --parity). net_config writes the field
  only for 'resize' generators, as the engine's config() does.
- x^2 is x*x and x^3 is Pow(x, 3) in the engine; same values here.
- Init (nets.ts initWeights): glorot uniform with limit sqrt(6/(fanIn+fanOut)) using the ParamSpec
  fanIn/fanOut (conv: cin*k*k / cout*k*k; convT: cout*k*k / cin*k*k; dense: cin / cout), zeros for
  biases, ones for IN scales. The random stream is a port of the engine's mulberry32
  (seededRandom): one stream per network, consumed in parameter order by glorot params only, value
  (u*2-1)*limit in float64 then rounded to float32. So init_weights(specs, seed) reproduces the
  engine's initWeights(net, seed) bit for bit (checked by import-weights.ts --parity).
- Losses (models/training.ts): LS = mean((x - target)^2) over all elements; L1 = mean |a - b|;
  CE = -sum(log_softmax(logits) * onehot) / N (the engine uses LogSoftmax on the logits, NOT the
  Keras clipped CE on probabilities; they only differ for saturated outputs).
- G objective and D objective: buildGeneratorStep / buildDiscriminatorStep with REFERENCE_WEIGHTS
  (cycle 10, identity 5, class 0.1, cycleClass 0.01, identityClass 0.02). The discriminators are
  frozen during the G step (gradients only w.r.t. the generators).
- Paired objective (training.ts buildSupervisedStep): total = l1Weight * L1(G(input).output, target)
  + classWeight * CE(G(input).logits, label), one generator (prefix 'G/').
- Weight average (trainer.ts SupervisedTrainer): after each step (step counter s already advanced),
  d = min(decay, (1 + s) / (10 + s)) (emaDecayAt), ema = d * ema + (1 - d) * w; ema starts as a copy
  of the initial weights; the exported weights are the average.
- trainOnly (SupervisedTrainerConfig.trainOnly, buildSupervisedStep): only the parameters whose
  engine name equals a prefix or starts with `prefix.` get gradients and Adam moments; the rest are
  frozen inputs, bit-identical to the start. The engine's average of a frozen weight stays equal to it
  (d*w + (1-d)*w in float64, rounded to float32); here it is simply not updated (float32 arithmetic
  could move it by an ulp). trained_specs() below: requires_grad=False for the frozen ones.
- Learning-rate schedule (training.ts LrSchedule, fed as lr_schedule = [lr, decayStart, totalSteps]):
  lr(step) = lr * clamp((totalSteps - step) / (totalSteps - decayStart), 0, 1), step = the 0-based
  index of the step being taken (the Adam step count before it); learning_rate_at() below.
- Adam: REFERENCE_ADAM, Keras form (beta1 0.5, beta2 0.999, epsilon 1e-7):
  alpha = lr * sqrt(1 - b2^t) / (1 - b1^t); m, v updated; p -= alpha * m / (sqrt(v) + eps), t = step+1.
  (torch.optim.Adam puts eps inside the bias correction, so it is NOT used.) One step counter per
  optimiser (G pair, D pair).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

IN_EPSILON = 1e-3
LEAKY_ALPHA = 0.2
CLASS_NAMES = ("normal", "COVID-19")

REFERENCE_WEIGHTS = {
    "cycle": 10.0,
    "identity": 5.0,
    "class": 0.1,
    "cycleClass": 0.01,
    "identityClass": 0.02,
}
REFERENCE_ADAM = {"beta1": 0.5, "beta2": 0.999, "epsilon": 1e-7}
REFERENCE_LR = 2e-4


# ---------------------------------------------------------------- parameter specs


@dataclass(frozen=True)
class ParamSpec:
    name: str
    shape: tuple
    init: str  # 'glorot' | 'zeros' | 'ones'
    fan_in: int = 0
    fan_out: int = 0

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= int(d)
        return n


ARCHS = ("operational", "convolutional-light")
UPSAMPLINGS = ("transposed", "resize")


class _Layers:
    """Declares parameters in exactly the order of models/nets.ts Layers. plain=True gives the
    compact CNN's single conv per layer named `<layer>.weight` (nets.ts `{ q: 1 }` option)."""

    def __init__(self, q: int, plain: bool = False):
        self.q = 1 if plain else q
        self.plain = plain
        self.params: list[ParamSpec] = []

    def _prefixes(self, name):
        return [name] if self.plain else [f"{name}.q{i}" for i in range(1, self.q + 1)]

    def conv(self, name, cin, cout, k, bias):
        for p in self._prefixes(name):
            self.params.append(ParamSpec(f"{p}.weight", (cout, cin, k, k), "glorot", cin * k * k, cout * k * k))
            if bias:
                self.params.append(ParamSpec(f"{p}.bias", (cout,), "zeros"))

    def conv_t(self, name, cin, cout, k, bias):
        for p in self._prefixes(name):
            self.params.append(ParamSpec(f"{p}.weight", (cin, cout, k, k), "glorot", cout * k * k, cin * k * k))
            if bias:
                self.params.append(ParamSpec(f"{p}.bias", (cout,), "zeros"))

    def norm(self, name, c):
        self.params.append(ParamSpec(f"{name}.scale", (c,), "ones"))
        self.params.append(ParamSpec(f"{name}.bias", (c,), "zeros"))

    def dense(self, name, cin, cout):
        self.params.append(ParamSpec(f"{name}.weight", (cin, cout), "glorot", cin, cout))
        self.params.append(ParamSpec(f"{name}.bias", (cout,), "zeros"))


def _check_q(q: int) -> None:
    if q not in (1, 2, 3):
        raise ValueError(f"operational order q must be 1, 2 or 3, got {q}")


def _check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise ValueError(f"architecture must be one of {', '.join(ARCHS)}, got {arch}")


def generator_specs(q: int = 3, channels: int = 1, width: int = 64, arch: str = "operational") -> list[ParamSpec]:
    """nets.ts operationalGenerator / compactGenerator params (same layer list, plain convs)."""
    _check_arch(arch)
    if arch == "operational":
        _check_q(q)
    dim = 2 * width
    L = _Layers(q, plain=arch != "operational")
    L.conv("enc", channels, dim, 3, False)
    L.norm("enc.norm", dim)
    L.conv("res.conv1", dim, dim, 3, False)
    L.norm("res.norm1", dim)
    L.conv("res.conv2", dim, dim, 3, False)
    L.norm("res.norm2", dim)
    L.dense("classifier", dim, 2)
    L.conv_t("dec", dim, channels, 3, True)
    return L.params


def discriminator_specs(q: int = 3, channels: int = 1, width: int = 64, arch: str = "operational") -> list[ParamSpec]:
    """nets.ts operationalDiscriminator / compactDiscriminator params."""
    _check_arch(arch)
    if arch == "operational":
        _check_q(q)
    L = _Layers(q, plain=arch != "operational")
    L.conv("c1", channels, width, 4, True)
    L.conv("c2", width, 2 * width, 4, False)
    L.norm("c2.norm", 2 * width)
    L.conv("c3", 2 * width, 1, 4, True)
    return L.params


def _check_upsampling(upsampling: str) -> None:
    if upsampling not in UPSAMPLINGS:
        raise ValueError(f"upsampling must be one of {', '.join(UPSAMPLINGS)}, got {upsampling}")


def net_config(role: str, q: int = 3, channels: int = 1, width: int = 64, arch: str = "operational",
               upsampling: str = "transposed") -> dict:
    """The engine's NetConfig (JSON) for these networks (nets.ts config(): q = 1 unless operational;
    `upsampling` only for a 'resize' generator: the reference 'transposed' is the absent field)."""
    _check_arch(arch)
    _check_upsampling(upsampling)
    c = {"kind": arch, "role": role, "q": q if arch == "operational" else 1, "channels": channels, "width": width}
    if upsampling == "resize" and role == "generator":
        c["upsampling"] = "resize"
    return c


# ---------------------------------------------------------------- init (engine-identical)

_U32 = np.uint64(0xFFFFFFFF)


def mulberry32(seed: int, start: int, count: int) -> np.ndarray:
    """Outputs start+1 .. start+count of the engine's seededRandom(seed) (mulberry32), as float64.

    mulberry32's state only advances by a constant, so output i depends on seed + i*0x6d2b79f5 alone
    and the whole stream can be computed at once with uint32 arithmetic (kept in uint64, masked).
    """
    idx = np.arange(start + 1, start + count + 1, dtype=np.uint64)
    a = (np.uint64(seed & 0xFFFFFFFF) + idx * np.uint64(0x6D2B79F5)) & _U32
    t = a
    t = ((t ^ (t >> np.uint64(15))) * (t | np.uint64(1))) & _U32
    t = t ^ ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & _U32)) & _U32)
    t = (t ^ (t >> np.uint64(14))) & _U32
    return t.astype(np.float64) / 4294967296.0


def init_weights_numpy(specs: list[ParamSpec], seed: int) -> dict[str, np.ndarray]:
    """nets.ts initWeights: float32 arrays keyed by engine name, in spec order."""
    out: dict[str, np.ndarray] = {}
    consumed = 0
    for p in specs:
        n = p.size
        if p.init == "ones":
            arr = np.ones(n, dtype=np.float32)
        elif p.init == "zeros":
            arr = np.zeros(n, dtype=np.float32)
        elif p.init == "glorot":
            limit = math.sqrt(6.0 / (p.fan_in + p.fan_out))
            u = mulberry32(seed, consumed, n)
            consumed += n
            arr = ((u * 2.0 - 1.0) * limit).astype(np.float32)
        else:
            raise ValueError(f"unknown init {p.init} for {p.name}")
        out[p.name] = arr.reshape(p.shape)
    return out


def to_torch_params(weights: dict[str, np.ndarray], device, requires_grad: bool = True) -> dict[str, torch.Tensor]:
    out = {}
    for name, arr in weights.items():
        t = torch.tensor(np.ascontiguousarray(arr), dtype=torch.float32, device=device)
        t.requires_grad_(requires_grad)
        out[name] = t
    return out


# ---------------------------------------------------------------- forward passes


def same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    """graph.ts samePads: TF 'same' padding [before, after] for one axis."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _powers(x: torch.Tensor, q: int) -> torch.Tensor:
    if q == 1:
        return x
    parts = [x, x * x]
    if q >= 3:
        parts.append(x.pow(3))
    return torch.cat(parts, dim=1)


def _bias(p, name: str, q: int):
    b = p[f"{name}.q1.bias"]
    for i in range(2, q + 1):
        b = b + p[f"{name}.q{i}.bias"]
    return b


def op_conv(p, name: str, x: torch.Tensor, q: int, k: int, stride: int, padding: str, bias: bool):
    """emitConv: one conv over cat(x, x^2, .., x^q) with the q kernels concatenated on Cin."""
    if q == 1:
        w = p[f"{name}.q1.weight"]
    else:
        w = torch.cat([p[f"{name}.q{i}.weight"] for i in range(1, q + 1)], dim=1)
    xin = _powers(x, q)
    if padding == "same":
        t, b = same_pads(int(x.shape[2]), k, stride)
        left, right = same_pads(int(x.shape[3]), k, stride)
        if t or b or left or right:
            xin = F.pad(xin, (left, right, t, b))
    return F.conv2d(xin, w, _bias(p, name, q) if bias else None, stride=stride)


def op_conv_t(p, name: str, x: torch.Tensor, q: int, k: int, stride: int, bias: bool):
    """emitConvT: Keras Conv2DTranspose 'same' = full transposed conv cropped [b, total-b]."""
    if q == 1:
        w = p[f"{name}.q1.weight"]
    else:
        w = torch.cat([p[f"{name}.q{i}.weight"] for i in range(1, q + 1)], dim=0)
    xin = _powers(x, q)
    y = F.conv_transpose2d(xin, w, _bias(p, name, q) if bias else None, stride=stride)
    total = max(k - stride, 0)
    before = total // 2
    after = total - before
    h, w_ = int(y.shape[2]), int(y.shape[3])
    return y[:, :, before : h - after, before : w_ - after]


RESIZE_TAPS = ((0, 0, 1), (0, 1, 1), (1, 1, 0), (1, 0, 0))


def resize_kernel_matrix() -> np.ndarray:
    """nets.ts resizeKernelMatrix: [9, 16], row-major 3x3 kernel @ it = row-major 4x4 kernel."""
    m = np.zeros((9, 16), dtype=np.float32)
    for a in range(4):
        for b in range(4):
            for i in range(3):
                for j in range(3):
                    m[i * 3 + j, a * 4 + b] = RESIZE_TAPS[a][i] * RESIZE_TAPS[b][j]
    return m


def _upsample_operands(p, name: str, x: torch.Tensor, q: int, plain: bool, bias: bool):
    if plain:
        return x, p[f"{name}.weight"], (p[f"{name}.bias"] if bias else None)
    if q == 1:
        w = p[f"{name}.q1.weight"]
    else:
        w = torch.cat([p[f"{name}.q{i}.weight"] for i in range(1, q + 1)], dim=0)
    return _powers(x, q), w, (_bias(p, name, q) if bias else None)


def resize_conv(p, name: str, x: torch.Tensor, q: int = 1, bias: bool = True, plain: bool = False):
    """emitResizeConv, as defined: nearest x2, zero pad 1, 3x3 conv; the [in, out, 3, 3] kernel
    (q kernels concatenated on `in`) is used as conv weight [out, in, 3, 3] (no spatial flip)."""
    xin, w, b = _upsample_operands(p, name, x, q, plain, bias)
    up = F.interpolate(xin, scale_factor=2, mode="nearest")
    return F.conv2d(F.pad(up, (1, 1, 1, 1)), w.transpose(0, 1), b)


def resize_conv_as_transposed(p, name: str, x: torch.Tensor, q: int = 1, bias: bool = True, plain: bool = False):
    """The engine's form of resize_conv: 4x4 stride-2 transposed conv, pads 1 on every side, with the
    kernel K4 = W3 @ resize_kernel_matrix() per (in, out) pair. Same function at low resolution."""
    xin, w, b = _upsample_operands(p, name, x, q, plain, bias)
    cin, cout = int(w.shape[0]), int(w.shape[1])
    m = torch.as_tensor(resize_kernel_matrix(), dtype=w.dtype, device=w.device)
    k4 = (w.reshape(cin * cout, 9) @ m).reshape(cin, cout, 4, 4)
    return F.conv_transpose2d(xin, k4, b, stride=2, padding=1)


def transposed_to_resize_kernel(k3: np.ndarray) -> np.ndarray:
    """nets.ts transposedToResizeKernel: the resize kernel (least squares over the 4x4 kernels) closest
    to a trained 3x3 stride-2 transposed kernel; k3 holds whole [.., 3, 3] kernels."""
    M = np.array(RESIZE_TAPS, dtype=np.float64)  # [4, 3]
    pinv = np.linalg.inv(M.T @ M) @ M.T  # [3, 4]
    k = np.asarray(k3, dtype=np.float64).reshape(-1, 3, 3)
    e = np.zeros((k.shape[0], 4, 4))
    e[:, 1:, 1:] = k  # the transposed conv's pads [0,0,1,1] vs [1,1,1,1]: shifted by one tap
    out = np.einsum("ia,nab,jb->nij", pinv, e, pinv)
    return out.astype(np.float32).reshape(np.shape(k3))


def upsample(p, name: str, x: torch.Tensor, q: int, upsampling: str, plain: bool = False, bias: bool = True):
    """emitUpsample: the reference transposed conv, or the resize conv."""
    if upsampling == "resize":
        return resize_conv(p, name, x, q, bias, plain)
    _check_upsampling(upsampling)
    return plain_conv_t(p, name, x, 3, 2, bias) if plain else op_conv_t(p, name, x, q, 3, 2, bias)


def instance_norm(p, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.instance_norm(x, weight=p[f"{name}.scale"], bias=p[f"{name}.bias"], eps=IN_EPSILON)


def plain_conv(p, name: str, x: torch.Tensor, k: int, stride: int, padding: str, bias: bool):
    """emitConv with a plain spec (compact CNN): weight `<name>.weight`, bias `<name>.bias`."""
    if padding == "same":
        t, b = same_pads(int(x.shape[2]), k, stride)
        left, right = same_pads(int(x.shape[3]), k, stride)
        if t or b or left or right:
            x = F.pad(x, (left, right, t, b))
    return F.conv2d(x, p[f"{name}.weight"], p[f"{name}.bias"] if bias else None, stride=stride)


def plain_conv_t(p, name: str, x: torch.Tensor, k: int, stride: int, bias: bool):
    """emitConvT with a plain spec: full transposed conv cropped [b, total-b] (see op_conv_t)."""
    y = F.conv_transpose2d(x, p[f"{name}.weight"], p[f"{name}.bias"] if bias else None, stride=stride)
    total = max(k - stride, 0)
    before = total // 2
    after = total - before
    h, w_ = int(y.shape[2]), int(y.shape[3])
    return y[:, :, before : h - after, before : w_ - after]


def compact_generator_forward(p, x: torch.Tensor, upsampling: str = "transposed") -> dict[str, torch.Tensor]:
    """compactGenerator.forward (ReLU, resBlockRelu without a final activation)."""
    h = torch.relu(instance_norm(p, "enc.norm", plain_conv(p, "enc", x, 3, 2, "same", False)))
    r = F.pad(h, (1, 1, 1, 1), mode="reflect")
    r = torch.relu(instance_norm(p, "res.norm1", plain_conv(p, "res.conv1", r, 3, 1, "valid", False)))
    r = F.pad(r, (1, 1, 1, 1), mode="reflect")
    r = instance_norm(p, "res.norm2", plain_conv(p, "res.conv2", r, 3, 1, "valid", False))
    h = h + r
    pooled = torch.amax(h, dim=(2, 3))
    logits = pooled @ p["classifier.weight"] + p["classifier.bias"]
    probabilities = torch.softmax(logits, dim=1)
    output = torch.tanh(upsample(p, "dec", h, 1, upsampling, plain=True))
    return {"output": output, "logits": logits, "probabilities": probabilities, "features": h}


def compact_discriminator_forward(p, x: torch.Tensor) -> torch.Tensor:
    """compactDiscriminator.forward: no activation after c3."""
    h = F.leaky_relu(plain_conv(p, "c1", x, 4, 2, "same", True), LEAKY_ALPHA)
    h = F.leaky_relu(instance_norm(p, "c2.norm", plain_conv(p, "c2", h, 4, 4, "same", False)), LEAKY_ALPHA)
    return plain_conv(p, "c3", h, 4, 1, "same", True)


def generator_forward(p, x: torch.Tensor, q: int = 3, arch: str = "operational",
                      upsampling: str = "transposed") -> dict[str, torch.Tensor]:
    """operationalGenerator.forward: returns output (restored), logits, probabilities, features."""
    if arch != "operational":
        _check_arch(arch)
        return compact_generator_forward(p, x, upsampling)
    h = instance_norm(p, "enc.norm", op_conv(p, "enc", x, q, 3, 2, "same", False))
    r = F.pad(torch.tanh(h), (1, 1, 1, 1), mode="reflect")
    r = torch.tanh(instance_norm(p, "res.norm1", op_conv(p, "res.conv1", r, q, 3, 1, "valid", False)))
    r = F.pad(r, (1, 1, 1, 1), mode="reflect")
    r = instance_norm(p, "res.norm2", op_conv(p, "res.conv2", r, q, 3, 1, "valid", False))
    h = torch.tanh(h + r)
    pooled = torch.amax(h, dim=(2, 3))
    logits = pooled @ p["classifier.weight"] + p["classifier.bias"]
    probabilities = torch.softmax(logits, dim=1)
    output = torch.tanh(upsample(p, "dec", h, q, upsampling))
    return {"output": output, "logits": logits, "probabilities": probabilities, "features": h}


def discriminator_forward(p, x: torch.Tensor, q: int = 3, arch: str = "operational") -> torch.Tensor:
    """operationalDiscriminator.forward: patch scores."""
    if arch != "operational":
        _check_arch(arch)
        return compact_discriminator_forward(p, x)
    h = F.leaky_relu(op_conv(p, "c1", x, q, 4, 2, "same", True), LEAKY_ALPHA)
    h = F.leaky_relu(instance_norm(p, "c2.norm", op_conv(p, "c2", h, q, 4, 4, "same", False)), LEAKY_ALPHA)
    h = F.leaky_relu(op_conv(p, "c3", h, q, 4, 1, "same", True), LEAKY_ALPHA)
    return h


# ---------------------------------------------------------------- losses and objectives


def mse_to_constant(x: torch.Tensor, target: float) -> torch.Tensor:
    return torch.mean((x - target) ** 2)


def l1_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.mean(torch.abs(a - b))


def cross_entropy(logits: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
    """training.ts crossEntropy: -sum(logSoftmax(logits) * onehot) / N."""
    n = logits.shape[0]
    return -torch.sum(torch.log_softmax(logits, dim=1) * one_hot) / n


def generator_objective(g_a2b, g_b2a, d_a, d_b, A, B, label_a, label_b, q=3, w=REFERENCE_WEIGHTS, arch="operational",
                        upsampling="transposed"):
    """buildGeneratorStep objective. Returns (total, terms dict, A2B output, B2A output, A2B probs)."""
    a2b = generator_forward(g_a2b, A, q, arch, upsampling)
    b2a = generator_forward(g_b2a, B, q, arch, upsampling)
    a2b2a = generator_forward(g_b2a, a2b["output"], q, arch, upsampling)
    b2a2b = generator_forward(g_a2b, b2a["output"], q, arch, upsampling)
    a2a = generator_forward(g_b2a, A, q, arch, upsampling)
    b2b = generator_forward(g_a2b, B, q, arch, upsampling)
    terms = {
        "A2B_g_loss": mse_to_constant(discriminator_forward(d_b, a2b["output"], q, arch), 1.0),
        "B2A_g_loss": mse_to_constant(discriminator_forward(d_a, b2a["output"], q, arch), 1.0),
        "A2B2A_cycle_loss": l1_loss(A, a2b2a["output"]),
        "B2A2B_cycle_loss": l1_loss(B, b2a2b["output"]),
        "A2A_id_loss": l1_loss(A, a2a["output"]),
        "B2B_id_loss": l1_loss(B, b2b["output"]),
        "A2B_c_loss": cross_entropy(a2b["logits"], label_a),
        "B2A_c_loss": cross_entropy(b2a["logits"], label_b),
        "A2B2A_c_loss": cross_entropy(a2b2a["logits"], label_a),
        "B2A2B_c_loss": cross_entropy(b2a2b["logits"], label_b),
        "A2A_c_loss": cross_entropy(a2a["logits"], label_a),
        "B2B_c_loss": cross_entropy(b2b["logits"], label_b),
    }
    t = terms
    adv = t["A2B_g_loss"] + t["B2A_g_loss"] + w["class"] * (t["A2B_c_loss"] + t["B2A_c_loss"])
    cyc = t["A2B2A_cycle_loss"] + t["B2A2B_cycle_loss"] + w["cycleClass"] * (t["A2B2A_c_loss"] + t["B2A2B_c_loss"])
    idt = t["A2A_id_loss"] + t["B2B_id_loss"] + w["identityClass"] * (t["A2A_c_loss"] + t["B2B_c_loss"])
    total = adv + w["cycle"] * cyc + w["identity"] * idt
    return total, terms, a2b["output"], b2a["output"], a2b["probabilities"]


def paired_objective(g, inp, target, label, q=3, arch="operational", upsampling="transposed",
                     l1_weight=10.0, class_weight=1.0):
    """buildSupervisedStep objective: l1Weight * L1(G(input), target) + classWeight * CE.
    Returns (total, terms {l1, ce}, output, probabilities)."""
    r = generator_forward(g, inp, q, arch, upsampling)
    l1 = l1_loss(r["output"], target)
    ce = cross_entropy(r["logits"], label)
    total = l1 * l1_weight + ce * class_weight
    return total, {"l1": l1, "ce": ce}, r["output"], r["probabilities"]


def train_only_match(name: str, prefixes) -> bool:
    """training.ts buildSupervisedStep trainOnly: a parameter trains when its engine name equals a
    prefix or starts with `prefix.` ('dec' matches dec.q1.weight, not decX.weight)."""
    return any(name == p or name.startswith(f"{p}.") for p in prefixes)


def check_train_only(specs: list[ParamSpec], prefixes) -> list[ParamSpec]:
    """SupervisedTrainer.create's trainOnly checks, with its messages: every prefix names a parameter
    of the generator, and the list is not empty. Returns the trained specs, in engine order."""
    names = [s.name for s in specs]
    for p in prefixes:
        if not any(train_only_match(n, [p]) for n in names):
            layers = ", ".join(dict.fromkeys(n.split(".")[0] for n in names))
            raise ValueError(f"trainOnly: the generator has no parameter {p} (it has {layers})")
    if len(prefixes) == 0:
        raise ValueError("trainOnly must name at least one parameter")
    return [s for s in specs if train_only_match(s.name, prefixes)]


def trained_specs(specs: list[ParamSpec], params: dict, prefixes=None) -> list[ParamSpec]:
    """Applies trainOnly (None = all) to torch params: the frozen ones get requires_grad=False, so
    autograd skips their backward and they never reach the optimiser (they stay bit-identical)."""
    trained = list(specs) if prefixes is None else check_train_only(specs, prefixes)
    keep = {s.name for s in trained}
    for s in specs:
        params[s.name].requires_grad_(s.name in keep)
    return trained


def ema_decay_at(decay: float, step: int) -> float:
    """trainer.ts emaDecayAt: ramps up early so the average is not dominated by the initial weights."""
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def ema_update(ema: list[torch.Tensor], weights: list[torch.Tensor], decay: float, step: int) -> None:
    """SupervisedTrainer.updateAverage, `step` = the step count after the step (ema = d*ema + (1-d)*w)."""
    d = ema_decay_at(decay, step)
    for a, w in zip(ema, weights):
        a.mul_(d).add_(w, alpha=1.0 - d)


def learning_rate_at(lr: float, decay_start: int, total_steps: int, step: int) -> float:
    """training.ts learningRateAt / the step graph's schedule: constant until decay_start, then linear
    to zero at total_steps (`step` = 0-based index of the step being taken)."""
    if step < decay_start:
        return lr
    return max(0.0, lr * min(1.0, (total_steps - step) / (total_steps - decay_start)))


def discriminator_objective(d_a, d_b, A, B, A2B, B2A, q=3, arch="operational"):
    """buildDiscriminatorStep objective. Returns (total, terms dict)."""
    terms = {
        "A_d_loss": mse_to_constant(discriminator_forward(d_a, A, q, arch), 1.0),
        "B2A_d_loss": mse_to_constant(discriminator_forward(d_a, B2A, q, arch), 0.0),
        "B_d_loss": mse_to_constant(discriminator_forward(d_b, B, q, arch), 1.0),
        "A2B_d_loss": mse_to_constant(discriminator_forward(d_b, A2B, q, arch), 0.0),
    }
    total = (terms["A_d_loss"] + terms["B2A_d_loss"]) + (terms["B_d_loss"] + terms["A2B_d_loss"])
    return total, terms


# ---------------------------------------------------------------- optimiser and pools


class KerasAdam:
    """training.ts adamUpdate (Keras form, eps outside the bias correction), constant lr."""

    def __init__(self, params: list[torch.Tensor], lr=REFERENCE_LR, beta1=0.5, beta2=0.999, epsilon=1e-7):
        self.params = params
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.step_count = 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        t = self.step_count + 1
        alpha = self.lr * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        b1, b2 = self.beta1, self.beta2
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            p.addcdiv_(m, v.sqrt().add_(self.epsilon), value=-alpha)
        self.step_count = t


class ImagePool:
    """The reference's ItemPool(50): per image, fill up, then with p=0.5 swap with a stored one."""

    def __init__(self, size: int = 50, rng=None):
        self.size = size
        self.items: list[torch.Tensor] = []
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size <= 0:
            return batch
        out = []
        for item in batch.detach():
            item = item.clone()
            if len(self.items) < self.size:
                self.items.append(item)
                out.append(item)
            elif self.rng.random() > 0.5:
                i = int(self.rng.integers(0, len(self.items)))
                out.append(self.items[i])
                self.items[i] = item
            else:
                out.append(item)
        return torch.stack(out, dim=0)


# ---------------------------------------------------------------- export


def flatten_params(specs: list[ParamSpec], params: dict) -> tuple[bytes, list[dict]]:
    """All params as float32 little-endian, concatenated in engine order, plus the manifest rows."""
    chunks = []
    rows = []
    offset = 0
    for s in specs:
        t = params[s.name]
        arr = t.detach().to("cpu", torch.float32).numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        arr = np.ascontiguousarray(arr, dtype="<f4")
        if tuple(arr.shape) != tuple(s.shape):
            raise ValueError(f"parameter {s.name} has shape {arr.shape}, expected {s.shape}")
        b = arr.tobytes()
        chunks.append(b)
        rows.append({"name": s.name, "shape": list(s.shape), "offset": offset, "length": s.size})
        offset += len(b)
    return b"".join(chunks), rows
