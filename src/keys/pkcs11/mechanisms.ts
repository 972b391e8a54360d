// Mechanisms and templates for decrypting a token in the HSM.
import pkcs11js from 'pkcs11js';
import type { WrapAlgorithm } from '../provider.js';

/** The unwrapped AES session key: a session object that never leaves the token, usable only to decrypt. */
export const SESSION_KEY_TEMPLATE: pkcs11js.Template = [
  { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
  { type: pkcs11js.CKA_TOKEN, value: false },
  { type: pkcs11js.CKA_SENSITIVE, value: true },
  { type: pkcs11js.CKA_EXTRACTABLE, value: false },
  { type: pkcs11js.CKA_DECRYPT, value: true },
];

const CKZ_DATA_SPECIFIED = 1; // not exported by pkcs11js

export const RSA_MECHANISM: Record<WrapAlgorithm, pkcs11js.Mechanism> = {
  'rsa-pkcs1v15': { mechanism: pkcs11js.CKM_RSA_PKCS },
  'rsa-oaep-sha256': {
    mechanism: pkcs11js.CKM_RSA_PKCS_OAEP,
    parameter: {
      type: pkcs11js.CK_PARAMS_RSA_OAEP,
      hashAlg: pkcs11js.CKM_SHA256,
      mgf: pkcs11js.CKG_MGF1_SHA256,
      source: CKZ_DATA_SPECIFIED,
    } as pkcs11js.RsaOAEP,
  },
};
