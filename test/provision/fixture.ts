// Shared pieces of the provisioning tests: the CLI runner, a test-only copy of Dogtag's cert-record schema,
// the issuance-protection key and decryption of what ended up in the directory.
import { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'ldapts';
import { openKeyProvider } from '../../src/keys/index.js';
import type { KeyProvider, WrapAlgorithm } from '../../src/keys/index.js';
import { decryptToken } from '../../src/token/index.js';
import { run } from '../helpers/run.js';
import { runCli } from '../schema/run-cli.js';
import type { RunResult } from '../helpers/run.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/provision/', import.meta.url));
export const KEY_PEM = join(FIXTURES, 'issuance_protection_key.pem');
export const CERT_PEM = join(FIXTURES, 'issuance_protection_cert.pem');

export function certPublicKey(): KeyObject {
  return new X509Certificate(readFileSync(CERT_PEM)).publicKey;
}

export function openTestKey(): Promise<KeyProvider> {
  return openKeyProvider({ kind: 'pem', keyPem: KEY_PEM, allowSoftwareKey: true, wrap: 'auto' });
}

/** Decrypts a stored value with the test key, exactly with `wrap`; returns the passphrase text. */
export async function decryptStored(
  provider: KeyProvider,
  value: string,
  wrap: WrapAlgorithm,
): Promise<string> {
  const { passphrase } = await decryptToken(value, provider, wrap);
  return passphrase.toString('utf8');
}

/** Runs `shrtok-proxy token <args>` from source in a child process (exit code, stdout, stderr). */
export function runToken(args: readonly string[]): Promise<RunResult> {
  return runCli(['token', ...args]);
}

// A test-only mirror of Dogtag's schema.ldif: metaInfo (DirectoryString, multi-valued, no matching rules) and
// a certificateRecord structural class allowing it. OIDs from the documentation arc 1.3.6.1.4.1.32473 (RFC 5612).
export const METAINFO_ATTR =
  "( 1.3.6.1.4.1.32473.77.1.1 NAME 'metaInfo' DESC 'test mirror of Dogtag metaInfo' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )";
export const CERT_RECORD_CLASS =
  "( 1.3.6.1.4.1.32473.77.2.1 NAME 'certificateRecord' DESC 'test mirror of Dogtag certificateRecord' SUP top STRUCTURAL MUST cn MAY ( metaInfo $ description ) )";

export const openldapTestSchema = (): string =>
  `dn: cn=dogtagtest,cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: dogtagtest\nolcAttributeTypes: ${METAINFO_ATTR}\nolcObjectClasses: ${CERT_RECORD_CLASS}\n`;

export const ds389TestSchema = (): string =>
  `dn: cn=schema\nchangetype: modify\nadd: attributeTypes\nattributeTypes: ${METAINFO_ATTR}\n-\nadd: objectClasses\nobjectClasses: ${CERT_RECORD_CLASS}\n`;

export function certRepositoryLdif(
  base: string,
  records: Array<{ serial: bigint; metaInfo: string[] }>,
): string {
  const parent = base.replace(/^ou=certificateRepository,/, '');
  const head = `dn: ${parent}\nobjectClass: organizationalUnit\nou: ca\n\ndn: ${base}\nobjectClass: organizationalUnit\nou: certificateRepository\n`;
  const recs = records.map(
    (r) =>
      `dn: cn=${r.serial.toString(10)},${base}\nobjectClass: certificateRecord\ncn: ${r.serial.toString(10)}\n${r.metaInfo.map((m) => `metaInfo: ${m}\n`).join('')}`,
  );
  return [head, ...recs].join('\n');
}

/** All values of one attribute of one entry, as text. */
export async function readAttr(
  url: string,
  bindDn: string,
  password: string,
  dn: string,
  attr: string,
): Promise<string[]> {
  const client = new Client({ url });
  try {
    await client.bind(bindDn, password);
    const { searchEntries } = await client.search(dn, { scope: 'base', attributes: [attr] });
    const e = searchEntries[0];
    const key = e && Object.keys(e).find((k) => k.toLowerCase() === attr.toLowerCase());
    const v = key && e ? e[key] : undefined;
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
  } finally {
    await client.unbind();
  }
}

export const CERT_REPO = 'ou=certificateRepository,ou=ca,dc=example,dc=com';

/** ldapadd/ldapmodify with a simple bind; throws with the tool's stderr on failure. */
export async function ldapApply(
  tool: 'ldapadd' | 'ldapmodify',
  url: string,
  bindDn: string,
  password: string,
  ldif: string,
): Promise<void> {
  const r = await run(`/usr/bin/${tool}`, ['-x', '-H', url, '-D', bindDn, '-w', password], { input: ldif });
  if (r.code !== 0) throw new Error(`${tool} failed (${r.code}): ${r.stderr}`);
}
