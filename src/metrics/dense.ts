// Metric families whose every label set is known up front and addressed by a slot number, so the
// hot path updates a typed array: no label hashing, no allocation. They implement the metric
// shape prom-client's Registry reads (name, help, type, get(), reset()), and render at scrape time.

type Labels = Readonly<Record<string, string>>;

interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: Sample[];
  aggregator: 'sum';
}

export interface DenseOptions {
  name: string;
  help: string;
  /** One label set per slot. */
  series: readonly Labels[];
  /** Slots exported at 0 before their first update, so rate() sees the first increment. */
  preset?: (slot: number) => boolean;
}

export class DenseCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly series: readonly Labels[];
  private readonly values: Float64Array;
  private readonly preset: Uint8Array;

  constructor(opts: DenseOptions) {
    this.name = opts.name;
    this.help = opts.help;
    this.series = opts.series;
    this.values = new Float64Array(opts.series.length);
    this.preset = presetMask(opts.series.length, opts.preset);
  }

  inc(slot: number, by = 1): void {
    this.values[slot] = (this.values[slot] ?? 0) + by;
  }

  value(slot: number): number {
    return this.values[slot] ?? 0;
  }

  get(): Promise<MetricSnapshot> {
    const values: Sample[] = [];
    for (let i = 0; i < this.values.length; i++) {
      const v = this.values[i] ?? 0;
      if (v > 0 || this.preset[i] === 1) values.push({ value: v, labels: this.series[i] ?? {} });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' });
  }

  reset(): void {
    this.values.fill(0);
  }
}

export interface DenseHistogramOptions extends DenseOptions {
  /** Upper bounds in seconds, ascending; +Inf is implicit. */
  buckets: readonly number[];
}

export class DenseHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  private readonly series: readonly Labels[];
  private readonly bounds: Float64Array;
  /** Per slot: one count per bucket plus +Inf, not cumulative (made cumulative when rendered). */
  private readonly bucketCounts: Float64Array;
  private readonly sums: Float64Array;
  private readonly counts: Float64Array;
  private readonly bucketLabels: readonly Labels[];
  private readonly preset: Uint8Array;

  constructor(opts: DenseHistogramOptions) {
    for (let i = 1; i < opts.buckets.length; i++) {
      if ((opts.buckets[i] ?? 0) <= (opts.buckets[i - 1] ?? 0))
        throw new Error(`${opts.name}: buckets must be strictly ascending`);
    }
    this.name = opts.name;
    this.help = opts.help;
    this.buckets = opts.buckets;
    this.series = opts.series;
    this.bounds = Float64Array.from(opts.buckets);
    const width = opts.buckets.length + 1;
    this.bucketCounts = new Float64Array(opts.series.length * width);
    this.sums = new Float64Array(opts.series.length);
    this.counts = new Float64Array(opts.series.length);
    const les = [...opts.buckets.map(String), '+Inf'];
    this.bucketLabels = opts.series.flatMap((labels) => les.map((le) => ({ ...labels, le })));
    this.preset = presetMask(opts.series.length, opts.preset);
  }

  observe(slot: number, seconds: number): void {
    if (!(seconds >= 0)) return; // NaN or a clock step backwards: drop rather than corrupt the sum
    const bounds = this.bounds;
    let b = 0;
    while (b < bounds.length && seconds > (bounds[b] ?? 0)) b++;
    const i = slot * (bounds.length + 1) + b;
    this.bucketCounts[i] = (this.bucketCounts[i] ?? 0) + 1;
    this.sums[slot] = (this.sums[slot] ?? 0) + seconds;
    this.counts[slot] = (this.counts[slot] ?? 0) + 1;
  }

  count(slot: number): number {
    return this.counts[slot] ?? 0;
  }

  get(): Promise<MetricSnapshot> {
    const values: Sample[] = [];
    const width = this.bounds.length + 1;
    for (let s = 0; s < this.series.length; s++) {
      const count = this.counts[s] ?? 0;
      if (count === 0 && this.preset[s] !== 1) continue;
      let cumulative = 0;
      for (let b = 0; b < width; b++) {
        cumulative += this.bucketCounts[s * width + b] ?? 0;
        values.push({
          value: cumulative,
          labels: this.bucketLabels[s * width + b] ?? {},
          metricName: `${this.name}_bucket`,
        });
      }
      const labels = this.series[s] ?? {};
      values.push({ value: this.sums[s] ?? 0, labels, metricName: `${this.name}_sum` });
      values.push({ value: count, labels, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' });
  }

  reset(): void {
    this.bucketCounts.fill(0);
    this.sums.fill(0);
    this.counts.fill(0);
  }
}

function presetMask(length: number, preset: ((slot: number) => boolean) | undefined): Uint8Array {
  const mask = new Uint8Array(length);
  if (preset) for (let i = 0; i < length; i++) mask[i] = preset(i) ? 1 : 0;
  return mask;
}

/** Every combination of the given label values, in row-major order (last label varies fastest). */
export function labelProduct(dims: readonly (readonly [string, readonly string[]])[]): Labels[] {
  let out: Record<string, string>[] = [{}];
  for (const [name, values] of dims) {
    out = out.flatMap((labels) => values.map((v) => ({ ...labels, [name]: v })));
  }
  return out;
}
