// Frames are forwarded as views of a read buffer that the next read overwrites. Before reading again, the
// reader asks whether a socket still queues bytes it was given (not yet handed to the kernel).
import type { Writable } from 'node:stream';

const EMPTY = Buffer.alloc(0);

/**
 * True while `stream` still queues written bytes; `then` runs once they have all been handed over (a
 * zero-length write completes after every write queued before it).
 */
export function holdsQueuedBytes(stream: Writable, then: () => void): boolean {
  if (stream.writableLength === 0 || stream.destroyed) return false;
  stream.write(EMPTY, () => then());
  return true;
}
