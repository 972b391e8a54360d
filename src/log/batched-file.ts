// An append-only file written in batches: lines queue in memory and go out in one write every FLUSH_MS
// (or at once past MAX_PENDING_BYTES), instead of one synchronous write per line. Flushes are synchronous
// writes of the whole batch, so close(), reopen() and process exit (SIGTERM's shutdown path, or an exit
// without it) leave nothing queued and never race an in-flight asynchronous write.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const FLUSH_MS = 50;
const MAX_PENDING_BYTES = 64 * 1024;

export class BatchedAppendFile {
  private fd: number;
  /** Queued lines, UTF-8 encoded in place as they arrive (no join and no re-encoding at flush time). */
  private buf = Buffer.allocUnsafe(MAX_PENDING_BYTES);
  private used = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly onExit = (): void => this.flush();

  constructor(
    private readonly path: string,
    private readonly onError: (e: Error) => void,
  ) {
    this.fd = openAppend(path);
    process.on('exit', this.onExit);
  }

  write(line: string): void {
    // At most 3 UTF-8 bytes per UTF-16 unit: flush first when the line might not fit.
    const worst = line.length * 3;
    if (this.used + worst > this.buf.length) {
      this.flush();
      if (this.used + worst > this.buf.length) this.grow(this.used + worst);
    }
    this.used += this.buf.write(line, this.used, 'utf8');
    if (this.timer === null) {
      this.timer = setTimeout(this.onTimer, FLUSH_MS);
      this.timer.unref();
    }
  }

  /** A line longer than the buffer, or lines queued while the file is closed. */
  private grow(size: number): void {
    const next = Buffer.allocUnsafe(Math.max(size, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    this.flush();
  };

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.used === 0 || this.fd < 0) return;
    const length = this.used;
    this.used = 0;
    try {
      for (let off = 0; off < length;) off += writeSync(this.fd, this.buf, off, length - off);
    } catch (e) {
      this.onError(e as Error);
    }
  }

  /** After log rotation: what is queued goes to the old file, later lines to a new one at the path. */
  reopen(): void {
    this.flush();
    const old = this.fd;
    this.fd = openAppend(this.path);
    closeSync(old);
  }

  close(): void {
    this.flush();
    process.off('exit', this.onExit);
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

function openAppend(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'a', 0o600);
}
