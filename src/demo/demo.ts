// `shrtok-proxy demo`: the whole product on one machine. A local slapd, a SoftHSM2 token holding the
// issuance-protection key, the shrTok schema, a demo user with a token, and the proxy (StartTLS, metrics)
// started as the real `serve` command. Everything lives in one temp dir that Ctrl-C removes.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectDirectory } from '../directory/index.js';
import {
  startSlapd,
  ADMIN_DN,
  ADMIN_PASSWORD,
  CONFIG_DN,
  CONFIG_PASSWORD,
  PEOPLE,
  SERVICE_DN,
  SERVICE_PASSWORD,
} from '../embedded/slapd.js';
import type { Slapd } from '../embedded/slapd.js';
import { makeTestPki } from '../embedded/tls.js';
import type { TestPki } from '../embedded/tls.js';
import { run } from '../embedded/process.js';
import { initSoftHsmToken } from '../keys/pkcs11/softhsm-init.js';
import { installSchema } from '../schema/index.js';
import { createToken, formatToken } from '../token/index.js';
import { generatePassphrase, writeSecretFile } from '../provision/index.js';
import { Attribute, Change } from 'ldapts';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(PACKAGE_ROOT, 'bin', 'shrtok-proxy');
const VIRTUAL_SUFFIX = 'cn=shared-token';

export interface DemoOptions {
  listenPort: number;
  metricsPort: number;
  /** Skip the Debian package check (tests run it once for the whole suite). */
  skipInstall?: boolean;
  out: (line: string) => void;
}

export interface RunningDemo {
  dir: string;
  proxyUrl: string;
  metricsUrl: string;
  /** Shell commands to try, exactly as printed. */
  commands: string[];
  /** Resolves when the proxy exits on its own. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

async function ensureDebianPackages(out: (line: string) => void): Promise<void> {
  const script = join(PACKAGE_ROOT, 'scripts', 'ensure-deps.sh');
  out('checking Debian packages (slapd, ldap-utils, softhsm2, ...)');
  const r = await run('bash', [script], { timeoutMs: 15 * 60_000 });
  if (r.code !== 0) throw new Error(r.stderr.trim() || 'installing the Debian packages failed');
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** A token for `passphrase` wrapped to the issuance-protection certificate, as one base64 line. */
function tokenFor(passphrase: Buffer, certPem: string): string {
  const publicKey = new X509Certificate(certPem).publicKey;
  return formatToken(createToken(passphrase, publicKey, 'rsa-pkcs1v15'), { oneline: true });
}

function waitForListening(proc: ChildProcess): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    let stderr = '';
    proc.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    const onData = (b: Buffer): void => {
      seen += b.toString();
      if (/^listening /m.test(seen)) {
        proc.stdout?.off('data', onData);
        resolvePromise();
      }
    };
    proc.stdout?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`the proxy exited (${code}) before listening:\n${stderr}`)));
  });
}

export async function startDemo(opts: DemoOptions): Promise<RunningDemo> {
  const out = opts.out;
  if (!opts.skipInstall) await ensureDebianPackages(out);
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-demo-'));
  const file = (name: string): string => join(dir, name);
  let slapd: Slapd | undefined;
  let pki: TestPki | undefined;
  let proxy: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    if (proxy && proxy.exitCode === null && proxy.signalCode === null) {
      const gone = new Promise((r) => proxy?.once('exit', r));
      proxy.kill('SIGTERM');
      await gone;
    }
    await slapd?.destroy();
    pki?.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    out('creating a SoftHSM2 token with an RSA-2048 issuance-protection key');
    const hsm = await initSoftHsmToken({
      dir: file('softhsm'),
      label: 'shrtok-demo',
      keyLabel: 'issuance-protection',
    });
    const certPem = readFileSync(hsm.certificate, 'utf8');

    out('starting slapd');
    slapd = await startSlapd({
      extraLdif: `dn: uid=demo,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: demo\ncn: Demo User\nsn: User\n`,
    });

    out('installing the shrTok schema');
    const config = await connectDirectory({ url: slapd.url, bindDn: CONFIG_DN, password: CONFIG_PASSWORD });
    try {
      await installSchema(config);
    } finally {
      await config.unbind();
    }

    out('giving uid=demo a shared token');
    const demoPassphrase = generatePassphrase(20);
    writeSecretFile(file('demo.passphrase'), demoPassphrase);
    const admin = await connectDirectory({ url: slapd.url, bindDn: ADMIN_DN, password: ADMIN_PASSWORD });
    try {
      const token = tokenFor(demoPassphrase, certPem);
      await admin.modify(`uid=demo,${PEOPLE}`, [
        new Change({
          operation: 'add',
          modification: new Attribute({ type: 'objectClass', values: ['extensibleObject'] }),
        }),
        new Change({ operation: 'add', modification: new Attribute({ type: 'shrTok', values: [token] }) }),
      ]);
    } finally {
      await admin.unbind();
    }

    // A second token, for the reader to set through the proxy with ldapmodify.
    const user1Passphrase = generatePassphrase(20);
    writeSecretFile(file('user1.passphrase'), user1Passphrase);
    writeFileSync(
      file('set-token.ldif'),
      `dn: uid=user1,${PEOPLE}\nchangetype: modify\nadd: objectClass\nobjectClass: extensibleObject\n-\nreplace: shrTok\nshrTok: ${tokenFor(user1Passphrase, certPem)}\n-\n`,
    );
    writeSecretFile(file('admin.password'), Buffer.from(ADMIN_PASSWORD));
    writeSecretFile(file('service.password'), Buffer.from(SERVICE_PASSWORD));

    pki = await makeTestPki('localhost');
    const proxyUrl = `ldap://127.0.0.1:${opts.listenPort}`;
    const metricsUrl = `http://127.0.0.1:${opts.metricsPort}/metrics`;
    const serveArgs = [
      'serve',
      '--listen',
      proxyUrl,
      '--backend',
      slapd.url,
      '--tls-cert',
      pki.certPath,
      '--tls-key',
      pki.keyPath,
      '--service-bind-dn',
      SERVICE_DN,
      '--service-password-file',
      file('service.password'),
      '--users-base',
      PEOPLE,
      '--token-reader-dn',
      SERVICE_DN,
      '--verifier-dn',
      ADMIN_DN,
      ...hsm.flags,
      '--metrics-listen',
      `127.0.0.1:${opts.metricsPort}`,
      '--audit-log',
      file('audit.log'),
      '--log-level',
      'warn',
    ];
    out('starting the proxy');
    proxy = spawn(process.execPath, [BIN, ...serveArgs], {
      env: { ...process.env, SOFTHSM2_CONF: hsm.softhsm2Conf },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((r) => proxy?.once('exit', (code) => r(code)));
    await waitForListening(proxy);

    const tls = `LDAPTLS_CACERT=${shellQuote(pki.caCertPath)}`;
    const commands = [
      `${tls} ldapwhoami -x -ZZ -H ${proxyUrl} -D uid=demo,${VIRTUAL_SUFFIX} -y ${shellQuote(file('demo.passphrase'))}`,
      `${tls} ldapmodify -x -ZZ -H ${proxyUrl} -D ${shellQuote(ADMIN_DN)} -y ${shellQuote(file('admin.password'))} -f ${shellQuote(file('set-token.ldif'))}`,
      `${tls} ldapwhoami -x -ZZ -H ${proxyUrl} -D uid=user1,${VIRTUAL_SUFFIX} -y ${shellQuote(file('user1.passphrase'))}`,
      `curl -s ${metricsUrl} | grep '^shrtok_verifications_total'`,
    ];
    return { dir, proxyUrl, metricsUrl, commands, exited, stop: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
