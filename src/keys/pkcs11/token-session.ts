// Opening a token: find the slot, open the session pool, log in, find the private key and its public half.
import { createPublicKey, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pkcs11js from 'pkcs11js';
import { wipe } from '../session-cipher.js';
import { ckrCode } from './errors.js';

type Handle = pkcs11js.Handle;

export interface KeySelector {
  token?: string;
  keyLabel?: string;
  keyId?: string;
}

export interface OpenToken {
  slot: Handle;
  tokenLabel: string;
  sessions: Handle[];
  key: Handle;
  publicKey: KeyObject;
  modulusBytes: number;
}

/** Reads a PIN file: bytes as written, minus one trailing newline (PINs never end in one). */
export async function readPinFile(path: string): Promise<string> {
  const raw = await readFile(path);
  let end = raw.length;
  if (raw[end - 1] === 0x0a) {
    end--;
    if (raw[end - 1] === 0x0d) end--;
  }
  const pin = raw.toString('utf8', 0, end);
  wipe(raw);
  return pin;
}

/** The label without its padding (blanks per the standard; NULs from some initialisers). */
export function tokenLabel(info: pkcs11js.TokenInfo): string {
  return info.label.replace(/[\0 ]+$/, '');
}

function label(lib: pkcs11js.PKCS11, slot: Handle): string {
  return tokenLabel(lib.C_GetTokenInfo(slot));
}

function findObjects(lib: pkcs11js.PKCS11, session: Handle, template: pkcs11js.Template): Handle[] {
  lib.C_FindObjectsInit(session, template);
  try {
    return lib.C_FindObjects(session, 16);
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

function attribute(lib: pkcs11js.PKCS11, session: Handle, object: Handle, type: number): Buffer | undefined {
  try {
    return lib.C_GetAttributeValue(session, object, [{ type }])[0]?.value;
  } catch {
    return undefined;
  }
}

/** Finds the private key by CKA_ID, by its own CKA_LABEL, or via a certificate with that label (NSS nickname). */
function findKey(lib: pkcs11js.PKCS11, session: Handle, sel: KeySelector): Handle[] {
  // Token objects only: session copies made by another provider in this process carry the same label.
  const priv = [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_TOKEN, value: true },
  ];
  if (sel.keyId !== undefined)
    return findObjects(lib, session, [
      ...priv,
      { type: pkcs11js.CKA_ID, value: Buffer.from(sel.keyId, 'hex') },
    ]);
  const labelAttr = { type: pkcs11js.CKA_LABEL, value: sel.keyLabel ?? '' };
  const byLabel = findObjects(lib, session, [...priv, labelAttr]);
  if (byLabel.length > 0) return byLabel;
  const certs = findObjects(lib, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
    labelAttr,
  ]);
  const ids = certs
    .map((c) => attribute(lib, session, c, pkcs11js.CKA_ID))
    .filter((id): id is Buffer => !!id?.length);
  return ids.flatMap((id) => findObjects(lib, session, [...priv, { type: pkcs11js.CKA_ID, value: id }]));
}

function readPublicKey(lib: pkcs11js.PKCS11, session: Handle, key: Handle): KeyObject {
  const n = attribute(lib, session, key, pkcs11js.CKA_MODULUS);
  const e = attribute(lib, session, key, pkcs11js.CKA_PUBLIC_EXPONENT);
  if (n?.length && e?.length)
    return createPublicKey({
      key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') },
      format: 'jwk',
    });
  // Some tokens hide the public exponent on the private key: use the certificate with the same CKA_ID.
  const id = attribute(lib, session, key, pkcs11js.CKA_ID);
  if (id?.length) {
    const [cert] = findObjects(lib, session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      { type: pkcs11js.CKA_ID, value: id },
    ]);
    const der = cert && attribute(lib, session, cert, pkcs11js.CKA_VALUE);
    if (der) return new X509Certificate(der).publicKey;
  }
  throw new Error('cannot read the public key of the private key (no modulus/exponent and no certificate)');
}

/**
 * NSS softokn decrypts a key4.db private key's attributes (PBKDF2 per attribute) on every operation; an
 * in-memory session copy (still sensitive, owned by the first pool session) avoids that per decrypt.
 */
function sessionCopy(lib: pkcs11js.PKCS11, session: Handle, key: Handle): Handle {
  try {
    return lib.C_CopyObject(session, key, [{ type: pkcs11js.CKA_TOKEN, value: false }]);
  } catch {
    return key; // not copyable: use the token object
  }
}

function login(lib: pkcs11js.PKCS11, session: Handle, slot: Handle, pin: string | undefined): void {
  const loginRequired = (lib.C_GetTokenInfo(slot).flags & pkcs11js.CKF_LOGIN_REQUIRED) !== 0;
  if (pin === undefined && !loginRequired) return;
  try {
    // An NSS database without a password accepts the empty PIN.
    lib.C_Login(session, pkcs11js.CKU_USER, pin ?? '');
  } catch (e) {
    if (ckrCode(e) === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) return;
    if (pin === undefined) return; // the key lookup reports the missing PIN
    throw e;
  }
}

/**
 * Opens `count` sessions on the token holding the key and logs in once (login is per token, not per session).
 * Throws plain Errors with a reason that names no secret; the caller wraps them.
 */
export function openToken(
  lib: pkcs11js.PKCS11,
  sel: KeySelector,
  pin: string | undefined,
  count: number,
  copyToSession = false,
): OpenToken {
  const slots = lib.C_GetSlotList(true).filter((s) => sel.token === undefined || label(lib, s) === sel.token);
  if (slots.length === 0)
    throw new Error(sel.token === undefined ? 'no token present' : `token "${sel.token}" not found`);
  const what = sel.keyId !== undefined ? `CKA_ID ${sel.keyId}` : `label "${sel.keyLabel}"`;
  for (const slot of slots) {
    const first = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    let keep = false;
    try {
      login(lib, first, slot, pin);
      const keys = findKey(lib, first, sel);
      if (keys.length === 0) continue;
      if (keys.length > 1) throw new Error(`more than one private key matches ${what}`);
      let key = keys[0] as Handle;
      const publicKey = readPublicKey(lib, first, key);
      if (copyToSession) key = sessionCopy(lib, first, key);
      if (publicKey.asymmetricKeyType !== 'rsa') throw new Error(`the key with ${what} is not an RSA key`);
      const modulusBytes = Math.ceil((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
      const sessions = [first];
      while (sessions.length < count) sessions.push(lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION));
      keep = true;
      return { slot, tokenLabel: label(lib, slot), sessions, key, publicKey, modulusBytes };
    } finally {
      if (!keep) lib.C_CloseSession(first);
    }
  }
  const hint = pin === undefined ? ' (private objects need a PIN: --pkcs11-pin-file)' : '';
  throw new Error(
    `no private key with ${what} on ${sel.token === undefined ? 'any token' : `token "${sel.token}"`}${hint}`,
  );
}
