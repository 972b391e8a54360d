// The 64 KiB buffers that client sessions and backend links read into, recycled. Allocated fresh for every
// connection, their external memory made connection churn (a connect, a bind and a close per operation)
// cost V8 about 55 µs of collector time per connection.

const READ_BUFFER_BYTES = 65536;
/** At most this many wait for reuse (4 MiB); past that a returned buffer is left to the collector. */
const MAX_FREE = 64;

const free: Buffer[] = [];
const counts = { allocated: 0, reused: 0 };

export function takeReadBuffer(): Buffer {
  const reused = free.pop();
  if (reused !== undefined) {
    counts.reused++;
    return reused;
  }
  counts.allocated++;
  return Buffer.allocUnsafe(READ_BUFFER_BYTES);
}

/** Buffers allocated and taken again from the pool since the process started (tests, diagnostics). */
export function readBufferCounts(): { allocated: number; reused: number; free: number } {
  return { ...counts, free: free.length };
}

/**
 * Only once nothing can read into it or write from it any more: the socket that read into it and every
 * socket that was given views of it have closed.
 */
export function giveBackReadBuffer(buffer: Buffer): void {
  if (free.length < MAX_FREE && buffer.length === READ_BUFFER_BYTES) free.push(buffer);
}
