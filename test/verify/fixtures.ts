// A real slapd carrying shrTok users and Dogtag-style certificate records, the vectors' key through the real
// pem provider, and a counting decorator around it (the real provider does the work; it only counts calls).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { KeyProvider, WrapAlgorithm } from '../../src/keys/provider.js';
import { openPemProvider } from '../../src/keys/pem-provider.js';
import { ServiceDirectory, ServicePool } from '../../src/directory/index.js';
import {
  ADMIN_DN,
  ADMIN_PASSWORD,
  CONFIG_DN,
  CONFIG_PASSWORD,
  PEOPLE,
  SERVICE_DN,
  SERVICE_PASSWORD,
  SUFFIX,
  startSlapd,
} from '../helpers/slapd.js';
import type { Slapd, SlapdOptions } from '../helpers/slapd.js';
import { run } from '../helpers/run.js';
import { SOFTHSM_MODULE } from '../helpers/softhsm.js';
import type { SoftHsmToken } from '../helpers/softhsm.js';

// The shared vectors as copied into the repository, so the suite does not depend on where shared/ lives.
export const VECTORS = new URL('../fixtures/cmc/', import.meta.url).pathname;
const TOKEN_VECTORS = new URL('../fixtures/vectors/', import.meta.url).pathname;
export const KEY_PEM = join(VECTORS, 'issuance_protection_key.pem');
export const CERT_REPO = `ou=certificateRepository,ou=ca,${SUFFIX}`;
const REPO_ROOT = new URL('../../', import.meta.url).pathname;

interface TokenVector {
  id: string;
  token: string;
  wrap: string;
  passphrase_utf8_hex: string;
}
interface RevocationVector {
  id: string;
  serial: string;
  der_file: string;
  shared_secret: string;
  revocation_token: { metainfo_value: string };
  expected: { ok: boolean; failed_check: string | null };
}
interface CmcVector {
  id: string;
  identification: string;
  der_file: string;
  shared_secret: string;
  shared_secret_from_token: { token_id: string };
  expected: { ok: boolean; failed_check: string | null };
}

export const tokens: TokenVector[] = (
  JSON.parse(readFileSync(join(TOKEN_VECTORS, 'tokens.json'), 'utf8')) as { tokens: TokenVector[] }
).tokens;
export const revocations: RevocationVector[] = (
  JSON.parse(readFileSync(join(VECTORS, 'revocation_requests.json'), 'utf8')) as {
    requests: RevocationVector[];
  }
).requests;
export const cmcRequests: CmcVector[] = (
  JSON.parse(readFileSync(join(VECTORS, 'cmc_requests.json'), 'utf8')) as { requests: CmcVector[] }
).requests;

export function token(id: string): TokenVector {
  const t = tokens.find((x) => x.id === id);
  if (!t) throw new Error(`no token ${id}`);
  return t;
}

export function passphraseOf(id: string): Buffer {
  return Buffer.from(token(id).passphrase_utf8_hex, 'hex');
}

export function vectorFile(rel: string): Buffer {
  return readFileSync(join(VECTORS, rel));
}

/** Users carrying tokens: uid → token id. `dupe` exists twice (two OUs). */
export const TOKEN_USERS: Record<string, string> = {
  alice: 't01',
  bob: 't05',
  carol: 't06',
  ute: 't02',
  empty: 't03',
  dupe: 't01',
  jürgen: 't05',
};

function userLdif(uid: string, tokenText: string, ou = PEOPLE): string {
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  return `dn:: ${b64(`uid=${uid},${ou}`)}
objectClass: inetOrgPerson
objectClass: extensibleObject
uid:: ${b64(uid)}
cn: ${uid}
sn: ${uid}
shrTok:: ${Buffer.from(tokenText, 'latin1').toString('base64')}
`;
}

const PKI_SCHEMA = `dn: cn=pkitest,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: pkitest
olcAttributeTypes: ( 1.3.6.1.4.1.32473.1.1 NAME 'metaInfo' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
olcObjectClasses: ( 1.3.6.1.4.1.32473.2.1 NAME 'certificateRecord' SUP top STRUCTURAL MUST cn MAY metaInfo )
`;

export async function ldapAdd(
  url: string,
  ldif: string,
  dn = ADMIN_DN,
  pw = ADMIN_PASSWORD,
  modify = false,
): Promise<void> {
  const r = await run(modify ? 'ldapmodify' : 'ldapadd', ['-x', '-H', url, '-D', dn, '-w', pw], {
    input: ldif,
  });
  if (r.code !== 0) throw new Error(`${modify ? 'ldapmodify' : 'ldapadd'} failed: ${r.stderr}`);
}

/** slapd with the shrTok schema (schema/openldap-cn-config.ldif), token users and certificate records. */
export async function startTokenSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  const slapd = await startSlapd(opts);
  try {
    const schema = readFileSync(join(REPO_ROOT, 'schema', 'openldap-cn-config.ldif'), 'utf8');
    await ldapAdd(slapd.url, schema, CONFIG_DN, CONFIG_PASSWORD);
    await ldapAdd(slapd.url, PKI_SCHEMA, CONFIG_DN, CONFIG_PASSWORD);
    const entries = [
      `dn: ou=Other,${SUFFIX}\nobjectClass: organizationalUnit\nou: Other\n`,
      `dn: ou=ca,${SUFFIX}\nobjectClass: organizationalUnit\nou: ca\n`,
      `dn: ${CERT_REPO}\nobjectClass: organizationalUnit\nou: certificateRepository\n`,
      ...Object.entries(TOKEN_USERS).map(([uid, id]) => userLdif(uid, token(id).token)),
      userLdif('dupe', token('t05').token, `ou=Other,${SUFFIX}`),
      ...revocations.map(
        (r) =>
          `dn: cn=${r.serial},${CERT_REPO}\nobjectClass: certificateRecord\ncn: ${r.serial}\n` +
          `metaInfo: requestId:${r.serial}\nmetaInfo:: ${Buffer.from(r.revocation_token.metainfo_value).toString('base64')}\n`,
      ),
    ];
    await ldapAdd(slapd.url, entries.join('\n'));
    return slapd;
  } catch (e) {
    await slapd.destroy();
    throw e;
  }
}

export function serviceDirectory(url: string): { pool: ServicePool; directory: ServiceDirectory } {
  const pool = new ServicePool({ url, bindDn: SERVICE_DN, password: Buffer.from(SERVICE_PASSWORD), size: 2 });
  return {
    pool,
    directory: new ServiceDirectory(pool, { usersBase: SUFFIX, certRepositoryBase: CERT_REPO }),
  };
}

export function pemProvider(): Promise<KeyProvider> {
  return openPemProvider({ keyPem: KEY_PEM, allowSoftwareKey: true });
}

/** Counts decrypt calls on a real provider; `down` makes it report the key unavailable like a lost HSM. */
export class CountingProvider implements KeyProvider {
  decrypts = 0;
  constructor(readonly inner: KeyProvider) {}
  get description(): string {
    return `counting(${this.inner.description})`;
  }
  decrypt(wrappedKey: Buffer, ciphertext: Buffer, wrap: WrapAlgorithm): Promise<Buffer> {
    this.decrypts++;
    return this.inner.decrypt(wrappedKey, ciphertext, wrap);
  }
  publicKey(): Promise<KeyObject> {
    return this.inner.publicKey();
  }
  healthy(): Promise<boolean> {
    return this.inner.healthy();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export function writeTemp(dir: string, name: string, data: string): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

export async function setToken(url: string, dn: string, tokenText: string): Promise<void> {
  await ldapAdd(
    url,
    `dn: ${dn}\nchangetype: modify\nreplace: shrTok\nshrTok:: ${Buffer.from(tokenText, 'latin1').toString('base64')}\n`,
    ADMIN_DN,
    ADMIN_PASSWORD,
    true,
  );
}

export interface VerificationArgsOptions {
  /** File holding the service account's password. */
  passwordFile: string;
  /** Where users with shrTok live; default the whole suffix. */
  usersBase?: string;
  /** Also look up Dogtag certificate records (CMC revocation). */
  certRepository?: boolean;
  /** Keep the issuance-protection key on this SoftHSM token instead of reading the vectors' PEM file. */
  hsm?: Pick<SoftHsmToken, 'tokenLabel' | 'pinFile' | 'keyLabel'>;
  verifierDn?: string;
  tokenReaderDn?: string;
}

/** The `serve` flags that turn on shared-token verification against a startTokenSlapd() directory. */
export function verificationArgs(o: VerificationArgsOptions): string[] {
  const key = o.hsm
    ? [
        ...['--pkcs11-module', SOFTHSM_MODULE, '--pkcs11-token', o.hsm.tokenLabel],
        ...['--pkcs11-pin-file', o.hsm.pinFile, '--key-label', o.hsm.keyLabel],
      ]
    : ['--key-pem', KEY_PEM];
  return [
    ...['--users-base', o.usersBase ?? SUFFIX],
    ...(o.certRepository ? ['--cert-repository-base', CERT_REPO] : []),
    ...['--service-bind-dn', SERVICE_DN, '--service-password-file', o.passwordFile],
    ...key,
    ...(o.verifierDn !== undefined ? ['--verifier-dn', o.verifierDn] : []),
    ...(o.tokenReaderDn !== undefined ? ['--token-reader-dn', o.tokenReaderDn] : []),
  ];
}
