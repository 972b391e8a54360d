// Steps shared by the OpenLDAP and 389-DS schema tests: secrets on disk, LDAP tools, byte-exact read-back.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { Client } from 'ldapts';
import { run } from '../helpers/run.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/provision/', import.meta.url));

/** A Dogtag CMCSharedToken output: 76-column base64 lines, each ending CRLF. */
export function dogtagToken(): { multiline: string; oneline: string; passphrase: string } {
  const multiline = readFileSync(join(FIXTURES, 'dogtag-d01.token'), 'latin1');
  return {
    multiline,
    // What the upstream CI's sed does: join the lines, dropping every CR and LF.
    oneline: multiline.replace(/\r?\n/g, ''),
    passphrase: readFileSync(join(FIXTURES, 'dogtag-d01.passphrase'), 'utf8'),
  };
}

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'shrtok-schema-test-'));
  file(name: string, content: string | Buffer, mode = 0o600): string {
    const p = join(this.path, name);
    writeFileSync(p, content, { mode });
    return p;
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Runs an ldap-utils tool with a simple bind; returns the result without throwing. */
export function ldapTool(
  tool: 'ldapmodify' | 'ldapadd' | 'ldapsearch',
  url: string,
  bindDn: string,
  password: string,
  args: readonly string[],
  input?: string,
): ReturnType<typeof run> {
  return run(`/usr/bin/${tool}`, ['-x', '-H', url, '-D', bindDn, '-w', password, ...args], { input });
}

/** Reads one attribute's raw bytes with ldapts, so the comparison is byte for byte. */
export async function readRaw(url: string, bindDn: string, password: string, dn: string, attr: string): Promise<Buffer[]> {
  const client = new Client({ url });
  try {
    await client.bind(bindDn, password);
    const { searchEntries } = await client.search(dn, {
      scope: 'base',
      attributes: [attr],
      explicitBufferAttributes: [attr],
    });
    const entry = searchEntries[0];
    const key = entry ? Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase()) : undefined;
    const value = key && entry ? entry[key] : undefined;
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)));
  } finally {
    await client.unbind();
  }
}

/**
 * Writes a token in its joined one-line form with ldapmodify, then checks it reads back byte-identical (ldapts)
 * and as plain text (ldapsearch).
 */
export async function assertTokenRoundTrip(
  url: string,
  bindDn: string,
  password: string,
  dn: string,
  token: { oneline: string },
): Promise<void> {
  const mod = await ldapTool(
    'ldapmodify',
    url,
    bindDn,
    password,
    [],
    `dn: ${dn}\nchangetype: modify\nadd: objectClass\nobjectClass: extensibleObject\n-\nreplace: shrTok\nshrTok: ${token.oneline}\n`,
  );
  assert.equal(mod.code, 0, mod.stderr);
  const raw = await readRaw(url, bindDn, password, dn, 'shrTok');
  assert.equal(raw.length, 1);
  assert.ok(raw[0]?.equals(Buffer.from(token.oneline, 'ascii')), 'stored bytes equal the joined token');
  const search = await ldapTool('ldapsearch', url, bindDn, password, [
    '-LLL',
    '-o',
    'ldif-wrap=no',
    '-b',
    dn,
    '-s',
    'base',
    'shrTok',
  ]);
  assert.ok(search.stdout.includes(`\nshrTok: ${token.oneline}\n`), 'ldapsearch prints it as plain text');
}

/** The shrTok definition as Dogtag's schema.ldif ships it (389-DS pseudo-OID). */
export const DOGTAG_SHRTOK =
  "( shrTok-oid NAME 'shrTok' DESC 'Attribute type for SharedToken' SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )";
/** A definition no installer may overwrite: same name, DirectoryString syntax. */
export const CONFLICTING_SHRTOK =
  "( 1.3.6.1.4.1.32473.1.1 NAME 'shrTok' DESC 'someone else' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )";
