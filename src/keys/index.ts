export { KeyUnavailableError, TokenError, WRAP_ALGORITHMS } from './provider.js';
export type { KeyProvider, TokenErrorClass, WrapAlgorithm, WrapSetting } from './provider.js';
export {
  DEFAULT_NSS_MODULE,
  DEFAULT_NSS_TOKEN,
  KEY_PROVIDER_CONFIG_KEYS,
  KeyProviderConfigError,
  keyProviderFlags,
  keyProviderOptionsFromConfig,
  keyProviderOptionsFromFlags,
} from './options.js';
export type { KeyProviderOptions, PemKeyOptions, Pkcs11KeyOptions } from './options.js';
export { openKeyProvider } from './open.js';
export type { KeyProviderHooks } from './open.js';
export { WrapUnsupportedError } from './errors.js';
export { SoftwareKeyRefusedError } from './pem-provider.js';
export { unpadOaepSha256, unpadPkcs1v15, unpadSessionKey } from './unpad.js';
export { DOGTAG_IV, decryptPassphrase, encryptPassphrase, wipe } from './session-cipher.js';
