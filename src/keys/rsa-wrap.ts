import { constants, publicEncrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { WrapAlgorithm } from './provider.js';

/** Wraps a session key to the RSA public key; Node uses the OAEP hash for MGF1 too, as Dogtag does. */
export function publicWrap(publicKey: KeyObject, sessionKey: Buffer, wrap: WrapAlgorithm): Buffer {
  return wrap === 'rsa-pkcs1v15'
    ? publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, sessionKey)
    : publicEncrypt(
        { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        sessionKey,
      );
}
