// A one-line progress bar on a terminal (stderr); silent when stderr is a pipe or a file.

export class Progress {
  private done = 0;
  private failed = 0;
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true && total > 0;
  }

  tick(ok: boolean): void {
    this.done++;
    if (!ok) this.failed++;
    const now = Date.now();
    if (this.done === this.total || now - this.lastDraw >= 100) {
      this.lastDraw = now;
      this.draw();
    }
  }

  private draw(): void {
    if (!this.enabled) return;
    const width = 30;
    const filled = Math.round((this.done / this.total) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const pct = Math.floor((this.done / this.total) * 100);
    this.stream.write(`\r${this.label} [${bar}] ${this.done}/${this.total} ${pct}% failed ${this.failed}`);
  }

  finish(): void {
    if (this.enabled) this.stream.write('\n');
  }
}

/**
 * Runs `work` over items with at most `concurrency` in flight, in order of start. If `work` throws, no new item
 * starts, the ones in flight finish, and the first error is rethrown (per-item failures are for `work` to catch).
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw failure.error;
}
