// `hsm init`: a SoftHSM2 token in its own directory with an RSA-2048 issuance-protection key (generated in the
// token or imported, sensitive and non-extractable), a self-signed certificate, and 0600 PIN files.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pkcs11js from 'pkcs11js';
import { buildSelfSignedCert, certificatePem } from '../self-signed-cert.js';
import { wipe } from '../session-cipher.js';
import { acquireModule } from './module-registry.js';
import { tokenLabel } from './token-session.js';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmInitOptions {
  dir: string;
  label: string;
  keyLabel?: string;
  importKeyPem?: string;
  module?: string;
}

export interface SoftHsmInitResult {
  softhsm2Conf: string;
  module: string;
  tokenLabel: string;
  keyLabel: string;
  keyIdHex: string;
  pinFile: string;
  soPinFile: string;
  certificate: string;
  keySource: 'generated' | 'imported';
  /** Key provider flags that select this key. */
  flags: string[];
}

type Handle = pkcs11js.Handle;
const b64u = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64url');

function privateTemplate(label: string, id: Buffer): pkcs11js.Template {
  return [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_DECRYPT, value: true },
    { type: pkcs11js.CKA_UNWRAP, value: true },
    { type: pkcs11js.CKA_SIGN, value: true },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
  ];
}

function publicTemplate(label: string, id: Buffer): pkcs11js.Template {
  return [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_ENCRYPT, value: true },
    { type: pkcs11js.CKA_WRAP, value: true },
    { type: pkcs11js.CKA_VERIFY, value: true },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: id },
  ];
}

async function importKey(
  lib: pkcs11js.PKCS11,
  session: Handle,
  pemPath: string,
  label: string,
  id: Buffer,
): Promise<{ key: Handle; publicKey: KeyObject }> {
  const pem = await readFile(pemPath);
  const key = createPrivateKey(pem);
  wipe(pem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`${pemPath} is not an RSA key`);
  const jwk: JsonWebKey = key.export({ format: 'jwk' });
  const parts = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map(b64u);
  const [n, e, d, p, q, dp, dq, qi] = parts as [
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
    Buffer,
  ];
  try {
    const handle = lib.C_CreateObject(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
      ...privateTemplate(label, id),
      { type: pkcs11js.CKA_MODULUS, value: n },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: e },
      { type: pkcs11js.CKA_PRIVATE_EXPONENT, value: d },
      { type: pkcs11js.CKA_PRIME_1, value: p },
      { type: pkcs11js.CKA_PRIME_2, value: q },
      { type: pkcs11js.CKA_EXPONENT_1, value: dp },
      { type: pkcs11js.CKA_EXPONENT_2, value: dq },
      { type: pkcs11js.CKA_COEFFICIENT, value: qi },
    ]);
    lib.C_CreateObject(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
      ...publicTemplate(label, id),
      { type: pkcs11js.CKA_MODULUS, value: n },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: e },
    ]);
    return { key: handle, publicKey: createPublicKey(key) };
  } finally {
    for (const b of parts) wipe(b);
  }
}

function generateKey(
  lib: pkcs11js.PKCS11,
  session: Handle,
  label: string,
  id: Buffer,
): { key: Handle; publicKey: KeyObject } {
  const pair = lib.C_GenerateKeyPair(
    session,
    { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
    [
      ...publicTemplate(label, id),
      { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 },
      { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
    ],
    privateTemplate(label, id),
  );
  const [n, e] = lib.C_GetAttributeValue(session, pair.publicKey, [
    { type: pkcs11js.CKA_MODULUS },
    { type: pkcs11js.CKA_PUBLIC_EXPONENT },
  ]);
  const publicKey = createPublicKey({
    key: { kty: 'RSA', n: n!.value.toString('base64url'), e: e!.value.toString('base64url') },
    format: 'jwk',
  });
  return { key: pair.privateKey, publicKey };
}

function findSlot(lib: pkcs11js.PKCS11, pick: (info: pkcs11js.TokenInfo) => boolean): Handle | undefined {
  return lib.C_GetSlotList(true).find((s) => pick(lib.C_GetTokenInfo(s)));
}

/**
 * Creates the token. Sets SOFTHSM2_CONF for this process (SoftHSM reads it at C_Initialize), so it must run
 * before anything else in the process loads SoftHSM.
 */
export async function initSoftHsmToken(opts: SoftHsmInitOptions): Promise<SoftHsmInitResult> {
  const dir = resolve(opts.dir);
  const module = opts.module ?? SOFTHSM_MODULE;
  const keyLabel = opts.keyLabel ?? opts.label;
  const tokens = join(dir, 'tokens');
  const conf = join(dir, 'softhsm2.conf');
  await mkdir(tokens, { recursive: true, mode: 0o700 });
  if (!existsSync(conf))
    await writeFile(
      conf,
      `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
  process.env.SOFTHSM2_CONF = conf;
  const userPin = randomBytes(12).toString('base64url');
  const soPin = randomBytes(12).toString('base64url');
  const id = randomBytes(8);
  const mod = acquireModule(module);
  const lib = mod.lib;
  try {
    if (findSlot(lib, (t) => tokenLabel(t) === opts.label))
      throw new Error(`a token labelled "${opts.label}" already exists in ${dir}`);
    const free = findSlot(lib, (t) => (t.flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0);
    if (!free) throw new Error('SoftHSM has no free slot');
    // PKCS#11 labels are blank-padded to 32 bytes; pkcs11js would pad with NULs.
    lib.C_InitToken(free, soPin, opts.label.padEnd(32, ' '));
    const slot = findSlot(lib, (t) => tokenLabel(t) === opts.label);
    if (!slot) throw new Error('the new token did not appear');
    const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      lib.C_Login(session, pkcs11js.CKU_SO, soPin);
      lib.C_InitPIN(session, userPin);
      lib.C_Logout(session);
      lib.C_Login(session, pkcs11js.CKU_USER, userPin);
      const { key, publicKey } = opts.importKeyPem
        ? await importKey(lib, session, opts.importKeyPem, keyLabel, id)
        : generateKey(lib, session, keyLabel, id);
      const { der, subject } = await buildSelfSignedCert({
        commonName: `${opts.label} issuance protection`,
        publicKey,
        sign: (tbs) => {
          lib.C_SignInit(session, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, key);
          return Promise.resolve(Buffer.from(lib.C_Sign(session, tbs, Buffer.alloc(512))));
        },
      });
      lib.C_CreateObject(session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
        { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_LABEL, value: keyLabel },
        { type: pkcs11js.CKA_ID, value: id },
        { type: pkcs11js.CKA_SUBJECT, value: subject },
        { type: pkcs11js.CKA_VALUE, value: der },
      ]);
      const certificate = join(dir, `${opts.label}-cert.pem`);
      await writeFile(certificate, certificatePem(der));
      const pinFile = join(dir, `${opts.label}.pin`);
      const soPinFile = join(dir, `${opts.label}.so-pin`);
      await writeFile(pinFile, userPin, { mode: 0o600 });
      await writeFile(soPinFile, soPin, { mode: 0o600 });
      return {
        softhsm2Conf: conf,
        module,
        tokenLabel: opts.label,
        keyLabel,
        keyIdHex: id.toString('hex'),
        pinFile,
        soPinFile,
        certificate,
        keySource: opts.importKeyPem ? 'imported' : 'generated',
        flags: [
          '--pkcs11-module',
          module,
          '--pkcs11-token',
          opts.label,
          '--pkcs11-pin-file',
          pinFile,
          '--key-label',
          keyLabel,
        ],
      };
    } finally {
      lib.C_CloseSession(session);
    }
  } finally {
    mod.release();
  }
}
