// Mann-Whitney U test (two-sided, normal approximation with tie correction) and the Vargha-Delaney A effect
// size, for the timing test. Rank-based, so a few GC pauses or scheduler hiccups move it little.

export interface Comparison {
  /** Probability that a random sample of `a` is slower than one of `b` (ties count half); 0.5 = no effect. */
  a12: number;
  z: number;
  /** Two-sided p-value. */
  p: number;
  medianA: number;
  medianB: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Drops the slowest `fraction` of a sample (pauses that have nothing to do with the code path). */
export function trimSlowest(xs: readonly number[], fraction: number): number[] {
  const s = [...xs].sort((x, y) => x - y);
  return s.slice(0, Math.ceil(s.length * (1 - fraction)));
}

/** erfc(x) for x >= 0, Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7). */
function erfc(x: number): number {
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return poly * Math.exp(-x * x);
}

export function mannWhitney(a: readonly number[], b: readonly number[]): Comparison {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const n = all.length;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && (all[j + 1] as { v: number }).v === (all[i] as { v: number }).v) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if ((all[k] as { g: number }).g === 0) rankSumA += rank;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const n1 = a.length;
  const n2 = b.length;
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const z = sigma === 0 ? 0 : (u - mean) / sigma;
  return { a12: u / (n1 * n2), z, p: erfc(Math.abs(z) / Math.SQRT2), medianA: median(a), medianB: median(b) };
}
