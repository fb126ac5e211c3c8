// Finite-difference checks of analytic gradients, shared by the layer and training-step tests.

export interface DirectionalCheck {
  ok: boolean;
  /** Analytic directional derivative g·v. */
  dot: number;
  /** Central difference of the loss along v. */
  numeric: number;
  /** |g||v|, the scale the relative tolerance applies to. */
  scale: number;
}

/**
 * g·v against (loss(base + eps·v) - loss(base - eps·v)) / 2eps along random directions v. A unit on a
 * ReLU/LeakyReLU/max kink crossed inside [-eps, eps] can spoil one direction, while a wrong gradient
 * fails every direction, so the check passes when any of `attempts` directions agrees to
 * 1e-4·|g||v| + absTolerance; the result is the passing direction or the last one tried.
 */
export function checkAlongRandomDirections(o: {
  analytic: ArrayLike<number>;
  base: ArrayLike<number>;
  loss: (moved: Float64Array) => number;
  rand: () => number;
  eps: number;
  absTolerance: number;
  attempts?: number;
}): DirectionalCheck {
  let result: DirectionalCheck = { ok: false, dot: 0, numeric: 0, scale: 0 };
  for (let attempt = 0; attempt < (o.attempts ?? 2); attempt++) {
    const v = Float64Array.from({ length: o.base.length }, () => o.rand() * 2 - 1);
    const at = (sign: number) =>
      o.loss(Float64Array.from(o.base, (b, i) => b + sign * o.eps * (v[i] as number)));
    const numeric = (at(1) - at(-1)) / (2 * o.eps);
    let dot = 0;
    let gn = 0;
    let vn = 0;
    for (let i = 0; i < o.analytic.length; i++) {
      const a = o.analytic[i] as number;
      dot += a * (v[i] as number);
      gn += a * a;
      vn += (v[i] as number) ** 2;
    }
    const scale = Math.sqrt(gn * vn);
    result = { ok: Math.abs(dot - numeric) <= 1e-4 * scale + o.absTolerance, dot, numeric, scale };
    if (result.ok) break;
  }
  return result;
}
