// Coalesces whole frames that sit back to back in one received chunk into a single write, so a chunk of N
// forwarded frames costs one write call instead of N (or one writev of N). Any frame that is not
// contiguous (a local answer, a re-encoded frame) first flushes the span, so output order is kept.
// Inside beginBatch()/endBatch() the sink is corked only once a second write is needed: the common batch (all frames
// from one chunk forwarded unchanged) is a single direct write without the stream's cork buffering.

export interface FrameSink {
  write(chunk: Buffer): boolean;
  cork?(): void;
  uncork?(): void;
}

export class SpanWriter {
  private base: ArrayBufferLike | null = null;
  private start = 0;
  private end = 0;
  private batching = false;
  private corked = false;

  constructor(public sink: FrameSink) {}

  /** Queues a frame; it is written at the latest by the next flush(). */
  write(frame: Buffer): void {
    const offset = frame.byteOffset;
    if (this.base === frame.buffer && offset === this.end) {
      this.end = offset + frame.length;
      return;
    }
    if (this.base !== null) this.flushInBatch();
    this.base = frame.buffer;
    this.start = offset;
    this.end = offset + frame.length;
  }

  /** Writes a frame now, after anything queued. */
  writeNow(frame: Buffer): boolean {
    if (this.batching) this.corkOnce();
    if (this.base !== null) this.flush();
    return this.sink.write(frame);
  }

  get inBatch(): boolean {
    return this.batching;
  }

  /** Starts a batch: writes until endBatch() coalesce (one write, or one corked writev when several). */
  beginBatch(): void {
    this.batching = true;
  }

  endBatch(): void {
    this.batching = false;
    this.flush();
    if (this.corked) {
      this.corked = false;
      this.sink.uncork?.();
    }
  }

  private flushInBatch(): void {
    if (this.batching) this.corkOnce();
    this.flush();
  }

  private corkOnce(): void {
    if (this.corked) return;
    this.corked = true;
    this.sink.cork?.();
  }

  flush(): void {
    const base = this.base;
    if (base === null) return;
    this.base = null;
    this.sink.write(Buffer.from(base, this.start, this.end - this.start));
  }
}
