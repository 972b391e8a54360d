// Coalesces whole frames that sit back to back in one received chunk into a single write, so a chunk of N
// forwarded frames costs one write call instead of N (or one writev of N). Any frame that is not
// contiguous (a local answer, a re-encoded frame) first flushes the span, so output order is kept.

export interface FrameSink {
  write(chunk: Buffer): boolean;
}

export class SpanWriter {
  private base: ArrayBufferLike | null = null;
  private start = 0;
  private end = 0;

  constructor(public sink: FrameSink) {}

  /** Queues a frame; it is written at the latest by the next flush(). */
  write(frame: Buffer): void {
    const offset = frame.byteOffset;
    if (this.base === frame.buffer && offset === this.end) {
      this.end = offset + frame.length;
      return;
    }
    if (this.base !== null) this.flush();
    this.base = frame.buffer;
    this.start = offset;
    this.end = offset + frame.length;
  }

  /** Writes a frame now, after anything queued. */
  writeNow(frame: Buffer): boolean {
    if (this.base !== null) this.flush();
    return this.sink.write(frame);
  }

  flush(): void {
    const base = this.base;
    if (base === null) return;
    this.base = null;
    this.sink.write(Buffer.from(base, this.start, this.end - this.start));
  }
}
