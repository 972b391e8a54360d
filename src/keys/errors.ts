import { KeyUnavailableError } from './provider.js';

/**
 * The key's token cannot decrypt this wrap at all (neither C_UnwrapKey nor raw RSA). With an explicit wrap it
 * is an outage-like configuration problem; with `auto` the other wrap is still tried.
 */
export class WrapUnsupportedError extends KeyUnavailableError {
  override name = 'WrapUnsupportedError';
}
