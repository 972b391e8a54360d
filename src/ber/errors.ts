/** Malformed BER: a wrong tag, a length that runs past its container, an indefinite or over-long length. */
export class BerError extends Error {
  override name = 'BerError';
  constructor(
    message: string,
    /** Byte offset in the buffer being read where the problem was found. */
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
  }
}
