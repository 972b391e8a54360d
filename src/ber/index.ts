export { BerReader } from './reader.js';
export { BerWriter } from './writer.js';
export { BerError } from './errors.js';
export { BerTag, BerClass, CONSTRUCTED, MAX_LENGTH_OCTETS } from './tags.js';
export type { BerTagValue } from './tags.js';
