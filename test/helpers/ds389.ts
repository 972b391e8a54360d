// Starts a real 389 Directory Server (ns-slapd) for tests: `dscreate from-file` into a private prefix
// under a temp dir (no systemd, loopback only), so it needs no system paths and leaves nothing behind.
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run, sleep, waitFor } from './run.js';
import { connect } from 'node:net';

export const DS_SUFFIX = 'dc=example,dc=com';
export const DS_ROOT_DN = 'cn=Directory Manager';
export const DS_ROOT_PASSWORD = 'ds-root-secret';
export const DS_PEOPLE = `ou=People,${DS_SUFFIX}`;
const INSTANCE = 'shrtok';
// Overridable for machines that install 389-DS elsewhere (and to exercise the skip path).
const DSCREATE = process.env.SHRTOK_DSCREATE ?? '/usr/sbin/dscreate';

export class Ds389 {
  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly prefix: string,
  ) {}

  get url(): string {
    return `ldap://127.0.0.1:${this.port}`;
  }
  get configDir(): string {
    return join(this.prefix, 'etc', 'dirsrv', `slapd-${INSTANCE}`);
  }
  get schemaDir(): string {
    return join(this.configDir, 'schema');
  }
  private get pidFile(): string {
    return join(this.prefix, 'run', 'dirsrv', `slapd-${INSTANCE}.pid`);
  }

  /** The ns-slapd pid, only if the process still runs with our config dir (never a recycled pid). */
  private ownPid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmdline.includes(this.configDir) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  async start(): Promise<void> {
    // ns-slapd daemonizes; the pid file identifies it afterwards.
    const r = await run('/usr/sbin/ns-slapd', ['-D', this.configDir, '-i', this.pidFile], {
      timeoutMs: 60_000,
    });
    if (r.code !== 0) throw new Error(`ns-slapd failed to start: ${r.stderr.slice(-500)}`);
    await waitFor(() => canConnect(this.port), 60_000, '389-DS to listen');
  }

  async stop(): Promise<void> {
    const pid = this.ownPid();
    if (pid === undefined) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (existsSync(`/proc/${pid}`) && Date.now() < deadline) await sleep(100);
    if (existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs ldapmodify/ldapadd as Directory Manager; throws with the tool's stderr on failure. */
  async ldif(tool: 'ldapadd' | 'ldapmodify', ldif: string, extra: string[] = []): Promise<string> {
    const r = await run(
      `/usr/bin/${tool}`,
      ['-x', '-H', this.url, '-D', DS_ROOT_DN, '-w', DS_ROOT_PASSWORD, ...extra],
      {
        input: ldif,
      },
    );
    if (r.code !== 0) throw new Error(`${tool} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
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

/** Rewrites lib389's defaults.inf so every path lives under the private prefix and systemd is off. */
function prefixedDefaults(prefix: string, tmp: string): string {
  const system = readFileSync('/usr/share/dirsrv/inf/defaults.inf', 'utf8');
  const relocate: Array<[string, string]> = [
    ['/usr/share', join(prefix, 'share')],
    ['/etc', join(prefix, 'etc')],
    ['/var', join(prefix, 'var')],
    ['/run', join(prefix, 'run')],
    ['/dev/shm', join(prefix, 'shm')],
    ['/tmp', tmp],
  ];
  return system
    .split('\n')
    .map((line) => {
      const m = /^(\w+)\s*=\s*(.*)$/.exec(line);
      if (!m) return line;
      const [, key, value] = m as unknown as [string, string, string];
      if (key === 'with_systemd') return 'with_systemd = 0';
      if (key === 'inst_dir') return `inst_dir = ${join(prefix, 'lib', 'dirsrv', 'slapd-{instance_name}')}`;
      for (const [from, to] of relocate) {
        if (value === from || value.startsWith(`${from}/`))
          return `${key} = ${to}${value.slice(from.length)}`;
      }
      return line;
    })
    .join('\n');
}

export interface Ds389Start {
  ds?: Ds389;
  /** Why 389-DS could not run here; tests print it and skip. */
  skipReason?: string;
}

/** Creates and starts an instance with suffix dc=example,dc=com and ou=People; never throws. */
export async function tryStartDs389(): Promise<Ds389Start> {
  if (!existsSync(DSCREATE) || !existsSync('/usr/sbin/ns-slapd')) {
    return { skipReason: '389-ds-base is not installed (no dscreate/ns-slapd)' };
  }
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-ds389-'));
  const prefix = join(dir, 'p');
  const tmp = join(dir, 'tmp');
  let ds: Ds389 | undefined;
  try {
    mkdirSync(join(prefix, 'etc', 'dirsrv'), { recursive: true });
    mkdirSync(tmp);
    cpSync('/usr/share/dirsrv', join(prefix, 'share', 'dirsrv'), { recursive: true });
    cpSync('/etc/dirsrv/schema', join(prefix, 'etc', 'dirsrv', 'schema'), { recursive: true });
    cpSync('/etc/dirsrv/config', join(prefix, 'etc', 'dirsrv', 'config'), { recursive: true });
    writeFileSync(join(prefix, 'share', 'dirsrv', 'inf', 'defaults.inf'), prefixedDefaults(prefix, tmp));
    // Listen on loopback only from the very first start, and keep the access log quiet.
    const template = join(prefix, 'share', 'dirsrv', 'data', 'template-dse.ldif');
    copyFileSync(template, `${template}.orig`);
    writeFileSync(
      template,
      readFileSync(template, 'utf8').replace(
        /^nsslapd-port: %ds_port%$/m,
        'nsslapd-port: %ds_port%\nnsslapd-listenhost: 127.0.0.1\nnsslapd-accesslog-logging-enabled: off',
      ),
    );
    const port = await freePort();
    const user = userInfo().username;
    writeFileSync(
      join(dir, 'instance.inf'),
      [
        '[general]',
        'config_version = 2',
        'full_machine_name = localhost',
        'selinux = False',
        'systemd = False',
        'start = True',
        'strict_host_checking = False',
        '[slapd]',
        `instance_name = ${INSTANCE}`,
        `port = ${port}`,
        'secure_port = 0',
        'self_sign_cert = False',
        `root_dn = ${DS_ROOT_DN}`,
        `root_password = ${DS_ROOT_PASSWORD}`,
        `user = ${user}`,
        `group = ${user}`,
        '[backend-userroot]',
        `suffix = ${DS_SUFFIX}`,
        'create_suffix_entry = True',
        'sample_entries = no',
        '',
      ].join('\n'),
    );
    ds = new Ds389(dir, port, prefix);
    const created = await run(DSCREATE, ['from-file', join(dir, 'instance.inf')], {
      env: { ...process.env, PREFIX: prefix },
      cwd: dir,
      timeoutMs: 120_000,
    });
    if (created.code !== 0) {
      const tail = (created.stdout + created.stderr).trim().split('\n').slice(-3).join(' | ');
      await ds.destroy();
      return { skipReason: `dscreate failed on this machine (exit ${created.code}): ${tail}` };
    }
    await waitFor(() => canConnect(port), 60_000, '389-DS to listen');
    await ds.ldif('ldapadd', `dn: ${DS_PEOPLE}\nobjectClass: organizationalUnit\nou: People\n`);
    return { ds };
  } catch (e) {
    await ds?.destroy();
    rmSync(dir, { recursive: true, force: true });
    return { skipReason: `389-DS could not start here: ${e instanceof Error ? e.message : String(e)}` };
  }
}
