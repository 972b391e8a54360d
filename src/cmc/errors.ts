/** The request cannot be decoded (bad DER, wrong structure, over a limit). The only error decode throws. */
export class CmcParseError extends Error {
  override name = 'CmcParseError';
}
