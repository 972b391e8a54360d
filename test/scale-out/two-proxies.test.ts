// Scale-out: two stateless proxies in ttl cache mode, each in front of its own slapd, the two slapds
// replicating each other. A token changed on one server must reach a verification on the other proxy through
// the change subscription (the TTL is an hour, so only the subscription can explain a quick refresh; the same
// test with --change-subscription off times out, which is how this was checked).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startReplicatedPair } from '../helpers/replicated-slapd.js';
import {
  ADMIN_DN,
  ADMIN_PASSWORD,
  CONFIG_DN,
  CONFIG_PASSWORD,
  PEOPLE,
  SERVICE_PASSWORD,
} from '../helpers/slapd.js';
import type { Slapd } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyProcess } from '../helpers/proxy.js';
import { run, waitFor } from '../helpers/run.js';
import { verificationArgs } from '../verify/fixtures.js';

const FIXTURES = new URL('../fixtures/vectors/', import.meta.url).pathname;
const REPO = new URL('../../', import.meta.url).pathname;
interface TokenVector {
  id: string;
  token_oneline: string;
  passphrase_utf8_hex: string;
}
const vectors = (JSON.parse(readFileSync(join(FIXTURES, 'tokens.json'), 'utf8')) as { tokens: TokenVector[] })
  .tokens;
const vector = (id: string): TokenVector => vectors.find((t) => t.id === id)!;
const passphrase = (id: string): string =>
  Buffer.from(vector(id).passphrase_utf8_hex, 'hex').toString('utf8');

async function ldap(tool: string, url: string, dn: string, pw: string, ldif: string): Promise<void> {
  const r = await run(tool, ['-x', '-H', url, '-D', dn, '-w', pw], { input: ldif });
  assert.equal(r.code, 0, `${tool}: ${r.stderr}`);
}

function setTokenLdif(uid: string, tokenId: string): string {
  return `dn: uid=${uid},${PEOPLE}\nchangetype: modify\nreplace: shrTok\nshrTok: ${vector(tokenId).token_oneline}\n`;
}

async function virtualBind(proxy: ProxyProcess, uid: string, pw: string): Promise<number | null> {
  const r = await run('ldapwhoami', ['-x', '-H', proxy.url(), '-D', `uid=${uid},cn=shared-token`, '-w', pw]);
  return r.code;
}

test('two proxies over replicated slapds stay coherent in ttl mode through the change subscription', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-scale-'));
  let servers: [Slapd, Slapd] | undefined;
  const proxies: ProxyProcess[] = [];
  try {
    servers = await startReplicatedPair();
    const [a, b] = servers;
    // cn=config is not replicated: each server gets the schema itself, before any token entry arrives.
    const schema = readFileSync(join(REPO, 'schema', 'openldap-cn-config.ldif'), 'utf8');
    for (const s of servers) await ldap('ldapadd', s.url, CONFIG_DN, CONFIG_PASSWORD, schema);
    await ldap(
      'ldapmodify',
      a.url,
      ADMIN_DN,
      ADMIN_PASSWORD,
      `dn: uid=user5,${PEOPLE}\nchangetype: modify\nadd: objectClass\nobjectClass: extensibleObject\n-\nadd: shrTok\nshrTok: ${vector('t01').token_oneline}\n`,
    );
    const hasToken = async (url: string): Promise<boolean> => {
      const r = await run('ldapsearch', [
        '-x',
        '-LLL',
        '-H',
        url,
        '-D',
        ADMIN_DN,
        '-w',
        ADMIN_PASSWORD,
        '-b',
        PEOPLE,
        '(uid=user5)',
        'shrTok',
      ]);
      return r.stdout.includes('shrTok:');
    };
    await waitFor(() => hasToken(b.url), 20_000, 'the token to replicate to B');

    writeFileSync(join(dir, 'service.pw'), SERVICE_PASSWORD);
    const common = [
      ...verificationArgs({ passwordFile: join(dir, 'service.pw'), usersBase: PEOPLE }),
      '--allow-plaintext-virtual-bind',
      '--cache-mode',
      'ttl',
      '--cache-ttl',
      '3600',
      '--log-level',
      'warn',
    ];
    for (const s of servers) proxies.push(await startProxy({ backends: [s.url], extraArgs: common }));
    const [proxyA, proxyB] = proxies as [ProxyProcess, ProxyProcess];

    // Warm both caches with the first token.
    assert.equal(await virtualBind(proxyA, 'user5', passphrase('t01')), 0);
    assert.equal(await virtualBind(proxyB, 'user5', passphrase('t01')), 0);

    for (const [changeOn, verifyThrough, from, to] of [
      [a, proxyB, 't01', 't05'],
      [b, proxyA, 't05', 't06'],
    ] as const) {
      const started = Date.now();
      await ldap('ldapmodify', changeOn.url, ADMIN_DN, ADMIN_PASSWORD, setTokenLdif('user5', to));
      await waitFor(
        async () => (await virtualBind(verifyThrough, 'user5', passphrase(to))) === 0,
        10_000,
        'the new token to verify on the other proxy',
      );
      t.diagnostic(
        `token changed on ${changeOn.url} verified through the other proxy after ${Date.now() - started} ms`,
      );
      assert.equal(
        await virtualBind(verifyThrough, 'user5', passphrase(from)),
        49,
        'the old passphrase no longer works',
      );
    }
  } finally {
    await Promise.all(proxies.map((p) => p.stop()));
    if (servers) await Promise.all(servers.map((s) => s.destroy()));
    rmSync(dir, { recursive: true, force: true });
  }
});
