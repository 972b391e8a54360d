export { FrameReader, FrameError } from './frame-reader.js';
export type { FrameErrorReason } from './frame-reader.js';
export { SpanWriter } from './span-writer.js';
export type { FrameSink } from './span-writer.js';
export { holdsQueuedBytes } from './when-written.js';
export { takeReadBuffer, giveBackReadBuffer, readBufferCounts } from './read-buffers.js';
