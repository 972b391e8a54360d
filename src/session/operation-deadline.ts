// Per-session deadline for backend answers (backend_operation_timeout_ms): an operation whose backend has
// sent nothing for it within the limit is reported as expired. One timer per session, armed only while
// operations wait; a search stops waiting at its first entry, reference or intermediate response, so a
// long or persistent search that has started answering is never cut off.

export class OperationDeadline {
  /** messageID → when the request went to the backend; insertion order is age order. */
  private readonly waiting = new Map<number, number>();
  private readonly tags = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly timeoutMs: number,
    private readonly onExpired: (expired: { messageId: number; opTag: number }[]) => void,
  ) {}

  started(messageId: number, opTag: number): void {
    this.waiting.delete(messageId);
    this.waiting.set(messageId, Date.now());
    this.tags.set(messageId, opTag);
    if (this.timer === null) this.arm(this.timeoutMs);
  }

  /** The backend answered (in part): the operation no longer waits. */
  answered(messageId: number): void {
    this.waiting.delete(messageId);
    this.tags.delete(messageId);
    if (this.waiting.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(this.check, Math.max(1, delayMs));
    this.timer.unref();
  }

  private readonly check = (): void => {
    this.timer = null;
    const now = Date.now();
    const expired: { messageId: number; opTag: number }[] = [];
    for (const [messageId, start] of this.waiting) {
      const left = start + this.timeoutMs - now;
      if (left > 0) {
        this.arm(left);
        break;
      }
      expired.push({ messageId, opTag: this.tags.get(messageId) ?? 0 });
    }
    for (const e of expired) {
      this.waiting.delete(e.messageId);
      this.tags.delete(e.messageId);
    }
    if (expired.length > 0) this.onExpired(expired);
  };
}
