// Starts a real OpenLDAP slapd (Debian package) in a temp dir on a loopback port, configured through
// cn=config (slapd -F) so schema tests can modify it, with a small DIT for the proxy tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run, waitFor } from './process.js';
import { connect } from 'node:net';

export const SUFFIX = 'dc=example,dc=com';
export const ADMIN_DN = `cn=admin,${SUFFIX}`;
export const ADMIN_PASSWORD = 'admin-secret';
export const CONFIG_DN = 'cn=config';
export const CONFIG_PASSWORD = 'config-secret';
export const SERVICE_DN = `cn=proxy-svc,${SUFFIX}`;
export const SERVICE_PASSWORD = 'svc-secret';
export const PEOPLE = `ou=People,${SUFFIX}`;
export const USER_COUNT = 40;

export interface SlapdOptions {
  /** Extra LDIF appended to the default DIT. */
  extraLdif?: string;
  /** Load the syncprov overlay (syncrepl / persistent refresh) on the data DB. Default true. */
  syncprov?: boolean;
  /** Server-wide size limit. Default 500. */
  sizeLimit?: number;
  /** Extra olc* lines for the data database (for replication tests). */
  extraDbConfig?: string;
  /** Load the default DIT (plus extraLdif). False leaves the database empty, e.g. for a replica. */
  loadDit?: boolean;
  /** Server ID for multi-provider tests. */
  serverId?: number;
  port?: number;
}

export class Slapd {
  proc: ChildProcess | undefined;
  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly configDir: string,
  ) {}

  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const proc = spawn('/usr/sbin/slapd', ['-F', this.configDir, '-h', `${this.url}/`, '-d', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = proc;
    let stderr = '';
    proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    let exited = false;
    proc.once('exit', () => (exited = true));
    await waitFor(
      async () => {
        if (exited) throw new Error(`slapd exited during start: ${stderr}`);
        return canConnect(this.port);
      },
      15_000,
      'slapd to listen',
    );
  }

  /** Stops slapd; SIGKILL simulates a crash. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const done = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill(signal);
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
    this.proc = undefined;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function configLdif(dir: string, opts: SlapdOptions): string {
  const schemas = ['core', 'cosine', 'inetorgperson', 'nis'];
  const modules = ['back_mdb', ...(opts.syncprov === false ? [] : ['syncprov'])];
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${dir}/slapd.pid
olcLogLevel: 0
olcSizeLimit: ${opts.sizeLimit ?? 500}
${opts.serverId ? `olcServerID: ${opts.serverId}\n` : ''}
dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
${modules.map((m) => `olcModuleLoad: ${m}`).join('\n')}

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

${schemas.map((s) => `include: file:///etc/ldap/schema/${s}.ldif`).join('\n\n')}

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: ${CONFIG_DN}
olcRootPW: ${CONFIG_PASSWORD}
olcAccess: {0}to * by dn.exact="${ADMIN_DN}" read by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${SUFFIX}
olcDbDirectory: ${dir}/data
olcRootDN: ${ADMIN_DN}
olcRootPW: ${ADMIN_PASSWORD}
olcDbMaxSize: 1073741824
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: cn eq
olcDbIndex: entryCSN,entryUUID eq
olcAccess: {0}to attrs=userPassword by self write by dn.exact="${SERVICE_DN}" read by anonymous auth by * none
olcAccess: {1}to * by self write by users read by anonymous read
${opts.extraDbConfig ?? ''}
${
  opts.syncprov === false
    ? ''
    : `
dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpCheckpoint: 10 1
`
}`;
}

export function defaultDit(): string {
  const users: string[] = [];
  for (let i = 0; i < USER_COUNT; i++) {
    users.push(`dn: uid=user${i},${PEOPLE}
objectClass: inetOrgPerson
uid: user${i}
cn: User ${i}
sn: Number${i}
mail: user${i}@example.com
userPassword: pass${i}
`);
  }
  // A small JPEG header plus every byte value, so binary round-trips are checked for real.
  const photo = Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  ]);
  return `dn: ${SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ${PEOPLE}
objectClass: organizationalUnit
ou: People

dn: ou=Groups,${SUFFIX}
objectClass: organizationalUnit
ou: Groups

dn: ${SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: proxy-svc
userPassword: ${SERVICE_PASSWORD}

dn: uid=photo,${PEOPLE}
objectClass: inetOrgPerson
uid: photo
cn: Photo Person
sn: Person
jpegPhoto:: ${photo.toString('base64')}

${users.join('\n')}`;
}

/** Creates and starts a slapd with the default DIT (plus opts.extraLdif). */
export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-slapd-'));
  const configDir = join(dir, 'slapd.d');
  mkdirSync(configDir);
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'config.ldif'), configLdif(dir, opts));
  const cfg = await run('/usr/sbin/slapadd', ['-n0', '-F', configDir, '-l', join(dir, 'config.ldif')]);
  if (cfg.code !== 0) throw new Error(`slapadd config failed: ${cfg.stderr}`);
  if (opts.loadDit !== false) {
    writeFileSync(join(dir, 'data.ldif'), defaultDit() + '\n' + (opts.extraLdif ?? ''));
    const data = await run('/usr/sbin/slapadd', ['-n1', '-F', configDir, '-l', join(dir, 'data.ldif')]);
    if (data.code !== 0) throw new Error(`slapadd data failed: ${data.stderr}`);
  }
  const slapd = new Slapd(dir, opts.port ?? (await freePort()), configDir);
  await slapd.start();
  return slapd;
}
