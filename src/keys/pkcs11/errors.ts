// PKCS#11 return codes: which ones mean "this token value is bad" and which mean "the HSM is not usable".
import pkcs11js from 'pkcs11js';

const names = new Map<number, string>();
for (const [k, v] of Object.entries(pkcs11js))
  if (k.startsWith('CKR_') && typeof v === 'number') names.set(v, k);

/** The CKR_ code of a pkcs11js error, or undefined for anything else. */
export function ckrCode(e: unknown): number | undefined {
  if (e instanceof pkcs11js.Pkcs11Error) return e.code;
  return undefined;
}

export function ckrName(e: unknown): string {
  const code = ckrCode(e);
  if (code === undefined) return e instanceof Error ? (e.message.split('\n')[0] ?? 'error') : 'error';
  return names.get(code) ?? `CKR_0x${code.toString(16)}`;
}

/** The module does not support the mechanism or its parameters (e.g. SoftHSM 2.6 with OAEP SHA-256). */
export const MECHANISM_UNSUPPORTED: ReadonlySet<number> = new Set([
  pkcs11js.CKR_ARGUMENTS_BAD,
  pkcs11js.CKR_MECHANISM_INVALID,
  pkcs11js.CKR_MECHANISM_PARAM_INVALID,
  pkcs11js.CKR_FUNCTION_NOT_SUPPORTED,
  pkcs11js.CKR_KEY_FUNCTION_NOT_PERMITTED,
  pkcs11js.CKR_KEY_TYPE_INCONSISTENT,
]);

/** Codes an RSA unwrap or raw decrypt returns for a wrapped key that does not decrypt. */
export const UNWRAP_DATA_ERRORS: ReadonlySet<number> = new Set([
  pkcs11js.CKR_WRAPPED_KEY_INVALID,
  pkcs11js.CKR_WRAPPED_KEY_LEN_RANGE,
  pkcs11js.CKR_ENCRYPTED_DATA_INVALID,
  pkcs11js.CKR_ENCRYPTED_DATA_LEN_RANGE,
  pkcs11js.CKR_DATA_INVALID,
  pkcs11js.CKR_DATA_LEN_RANGE,
  pkcs11js.CKR_TEMPLATE_INCONSISTENT,
  pkcs11js.CKR_ATTRIBUTE_VALUE_INVALID,
  pkcs11js.CKR_KEY_SIZE_RANGE,
]);

/** Codes from initialising AES with the unwrapped key: the key is not a usable AES-128 key. */
export const SESSION_KEY_ERRORS: ReadonlySet<number> = new Set([
  pkcs11js.CKR_KEY_SIZE_RANGE,
  pkcs11js.CKR_MECHANISM_INVALID,
  pkcs11js.CKR_KEY_TYPE_INCONSISTENT,
]);

/** Codes AES-CBC-PAD returns for bad padding or length. */
export const DECRYPT_DATA_ERRORS: ReadonlySet<number> = new Set([
  pkcs11js.CKR_ENCRYPTED_DATA_INVALID,
  pkcs11js.CKR_ENCRYPTED_DATA_LEN_RANGE,
  pkcs11js.CKR_DATA_INVALID,
  pkcs11js.CKR_DATA_LEN_RANGE,
]);

/**
 * SoftHSM reports bad RSA padding and bad AES padding as CKR_GENERAL_ERROR, which a broken device also
 * returns; such an error counts as a bad token only if the session and key still answer right after.
 */
export const AMBIGUOUS: ReadonlySet<number> = new Set([
  pkcs11js.CKR_GENERAL_ERROR,
  pkcs11js.CKR_FUNCTION_FAILED,
]);

/** Lost session, login or token: re-open the sessions (and log in again) and retry the call once. */
export const RECOVERABLE: ReadonlySet<number> = new Set([
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_OBJECT_HANDLE_INVALID,
  pkcs11js.CKR_KEY_HANDLE_INVALID,
  pkcs11js.CKR_UNWRAPPING_KEY_HANDLE_INVALID,
]);
