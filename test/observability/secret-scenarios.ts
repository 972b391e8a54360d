// The verification scenarios of the end-to-end suite, driven with one marker passphrase, for the test that
// greps every log line, audit line and /metrics for it. Real clients only: ldapwhoami, ldapsearch,
// ldapmodify, python-ldap (verify extended operation), against bin/shrtok-proxy in front of slapd.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildEnrollmentRequest, buildRevocationRequest } from '../../src/cmc/builder.js';
import { createToken, formatToken } from '../../src/token/index.js';
import { decodeVerifyResponse, encodeVerifyRequest } from '../../src/verify/index.js';
import type { VerifyRequest, VerifyResponse } from '../../src/verify/index.js';
import { ADMIN_DN, ADMIN_PASSWORD, PEOPLE } from '../helpers/slapd.js';
import { run } from '../helpers/run.js';
import type { TestPki } from '../helpers/tls.js';
import { CERT_REPO, KEY_PEM, ldapAdd } from '../verify/fixtures.js';

export const MARKER = 'Mk7-ObservabilityMarker-Passphrase-93f1c2';
export const MARKER_UID = 'marker-user';
export const MARKER_SERIAL = '990001';
const ISSUER = 'CN=CA Signing Certificate,OU=pki-tomcat,O=EXAMPLE';
const VERIFIER_DN = `uid=user1,${PEOPLE}`;
const VERIFIER_PW = 'pass1';
const EXTOP_CLIENT = new URL('../verify/extop-client.py', import.meta.url).pathname;

/** Every text form of `secret` a log could carry: itself, hex (both cases), base64 and base64url at the
 *  three byte alignments (the stable middle part, so it is found inside a longer encoded blob too). */
export function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = new Set([secret, bytes.toString('hex'), bytes.toString('hex').toUpperCase()]);
  for (let pad = 0; pad < 3; pad++) {
    const shifted = Buffer.concat([Buffer.alloc(pad), bytes]);
    for (const enc of ['base64', 'base64url'] as const) {
      const text = shifted.toString(enc).replace(/=+$/, '');
      // Drop the characters that mix padding bytes or the following byte into the same sextet.
      const start = Math.ceil((pad * 8) / 6);
      const end = Math.floor(((pad + bytes.length) * 8) / 6);
      forms.add(text.slice(start, end));
    }
  }
  return [...forms];
}

function tokenFor(passphrase: string): string {
  const publicKey = createPublicKey(createPrivateKey(readFileSync(KEY_PEM)));
  return formatToken(createToken(Buffer.from(passphrase, 'utf8'), publicKey, 'rsa-pkcs1v15'), {
    oneline: true,
  });
}

/** Adds the marker user (shrTok for MARKER) and a certificate record whose revShrTok holds MARKER. */
export async function addMarkerEntries(slapdUrl: string): Promise<void> {
  await ldapAdd(
    slapdUrl,
    `dn: uid=${MARKER_UID},${PEOPLE}
objectClass: inetOrgPerson
objectClass: extensibleObject
uid: ${MARKER_UID}
cn: marker
sn: marker
shrTok: ${tokenFor(MARKER)}

dn: cn=${MARKER_SERIAL},${CERT_REPO}
objectClass: certificateRecord
cn: ${MARKER_SERIAL}
metaInfo: requestId:${MARKER_SERIAL}
metaInfo: revShrTok:${tokenFor(MARKER)}
`,
  );
}

export interface ScenarioContext {
  /** ldap:// URL of the proxy (StartTLS available). */
  url: string;
  pki: TestPki;
  dir: string;
}

export interface ScenarioSummary {
  /** Verifications the proxy must have audited, by kind and result. */
  expected: { kind: string; result: string }[];
}

/** Runs every scenario; asserts each client saw the result the verification issue specifies. */
export async function runSecretScenarios(ctx: ScenarioContext): Promise<ScenarioSummary> {
  const expected: { kind: string; result: string }[] = [];
  const env = { ...process.env, LDAPTLS_CACERT: ctx.pki.caCertPath, LDAPTLS_REQCERT: 'demand' };
  const pwFile = join(ctx.dir, 'marker.pw');

  const whoami = async (uid: string, password: string, tls = true): Promise<number | null> => {
    writeFileSync(pwFile, password);
    const dn = `uid=${uid},cn=shared-token`;
    const r = await run(
      'ldapwhoami',
      ['-x', ...(tls ? ['-ZZ'] : []), '-H', ctx.url, '-D', dn, '-y', pwFile],
      { env },
    );
    rmSync(pwFile, { force: true });
    return r.code;
  };
  const extop = async (req: VerifyRequest): Promise<{ code: number; response?: VerifyResponse }> => {
    const hex = encodeVerifyRequest(req).toString('hex');
    const r = await run('/usr/bin/python3', [
      EXTOP_CLIENT,
      ctx.url,
      ctx.pki.caCertPath,
      VERIFIER_DN,
      VERIFIER_PW,
      hex,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { code: number; value?: string | null };
    return {
      code: out.code,
      response: out.value ? decodeVerifyResponse(Buffer.from(out.value, 'hex')) : undefined,
    };
  };

  // Virtual binds over StartTLS: right, wrong (the marker with a suffix), unknown user, no TLS.
  assert.equal(await whoami(MARKER_UID, MARKER), 0);
  expected.push({ kind: 'bind', result: 'success' });
  assert.equal(await whoami(MARKER_UID, `${MARKER}x`), 49);
  expected.push({ kind: 'bind', result: 'failure' });
  assert.equal(await whoami('nobody-here', MARKER), 49);
  expected.push({ kind: 'bind', result: 'failure' });
  assert.equal(await whoami(MARKER_UID, MARKER, false), 13);

  // The verify extended operation with the passphrase, right and wrong.
  const ok = await extop({ subject: { identification: MARKER_UID }, passphrase: Buffer.from(MARKER) });
  assert.equal(ok.code, 0);
  expected.push({ kind: 'extop', result: 'success' });
  assert.equal(
    (await extop({ subject: { identification: MARKER_UID }, passphrase: Buffer.from(`x${MARKER}`) })).code,
    49,
  );
  expected.push({ kind: 'extop', result: 'failure' });

  // CMC enrollment whose identity proof is keyed by the marker, and one keyed by something else.
  const requestKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const enroll = (secret: string) =>
    buildEnrollmentRequest({
      format: 'pkcs10',
      key: requestKey,
      secret,
      identification: MARKER_UID,
      popLink: {},
    });
  assert.equal((await extop({ cmcRequest: enroll(MARKER).der })).code, 0);
  expected.push({ kind: 'cmc', result: 'success' });
  assert.equal((await extop({ cmcRequest: enroll(`${MARKER}-other`).der })).code, 49);
  expected.push({ kind: 'cmc', result: 'failure' });

  // CMC revocation carrying the marker as its passphrase, right and wrong.
  const revoke = (passphrase: string) =>
    buildRevocationRequest({ issuer: ISSUER, serial: BigInt(MARKER_SERIAL), passphrase });
  assert.equal((await extop({ cmcRequest: revoke(MARKER).der })).code, 0);
  expected.push({ kind: 'revocation', result: 'success' });
  assert.equal((await extop({ cmcRequest: revoke(`${MARKER}!`).der })).code, 49);
  expected.push({ kind: 'revocation', result: 'failure' });

  // Lockout: five wrong passphrases (each containing the marker), then the right one is refused too.
  for (let i = 0; i < 5; i++) {
    assert.equal(await whoami(MARKER_UID, `${MARKER}${i}`), 49);
    expected.push({ kind: 'bind', result: 'failure' });
  }
  assert.equal(await whoami(MARKER_UID, MARKER), 49);
  expected.push({ kind: 'bind', result: 'failure' });

  // Token writes through the proxy: a token for the marker is checked (decrypted) and written; a token
  // for a foreign key is refused with constraintViolation (19).
  const modify = (value: string) =>
    run('ldapmodify', ['-x', '-ZZ', '-H', ctx.url, '-D', ADMIN_DN, '-w', ADMIN_PASSWORD], {
      env,
      input: `dn: uid=${MARKER_UID},${PEOPLE}\nchangetype: modify\nreplace: shrTok\nshrTok: ${value}\n`,
    });
  const written = await modify(tokenFor(MARKER));
  assert.equal(written.code, 0, written.stderr);
  const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const foreign = formatToken(createToken(Buffer.from(MARKER), foreignKey, 'rsa-pkcs1v15'), {
    oneline: true,
  });
  assert.equal((await modify(foreign)).code, 19);

  // An ordinary simple bind through the proxy with the marker as a (wrong) password.
  const plain = await run(
    'ldapwhoami',
    ['-x', '-ZZ', '-H', ctx.url, '-D', `uid=user3,${PEOPLE}`, '-w', MARKER],
    { env },
  );
  assert.equal(plain.code, 49);
  return { expected };
}
