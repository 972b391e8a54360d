export { FrameReader, FrameError } from './frame-reader.js';
export type { FrameErrorReason } from './frame-reader.js';
