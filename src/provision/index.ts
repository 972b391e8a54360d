export { tokenRewrapCommand, tokenSetCommand } from './commands.js';
export { connectFromFlags, directoryFlags, readSecretFile } from './directory-flags.js';
export {
  ProvisionError,
  REV_SHR_TOK_KEY,
  SHRTOK_ATTRIBUTE,
  certRecordDn,
  findUserEntry,
  parseSerial,
  readStoredToken,
  writeToken,
} from './entries.js';
export type { StoredKind, TokenTarget } from './entries.js';
export { generatePassphrase, writeSecretFile } from './passphrase.js';
export { bulkSet } from './bulk.js';
export type { BulkOptions, BulkSummary } from './bulk.js';
export { rewrapTokens } from './rewrap.js';
export type { RewrapOptions, RewrapSummary } from './rewrap.js';
export { setToken } from './set-token.js';
export { TokenMaker, tokenMakerFromFlags } from './token-maker.js';
