// Shared set-up for the proxy end-to-end tests: a real slapd, the real proxy in front of it, and helpers
// that run the same ldap-utils command against both so outputs can be compared byte for byte.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/run.js';
import type { RunResult } from '../helpers/run.js';
import { startSlapd } from '../helpers/slapd.js';
import type { Slapd, SlapdOptions } from '../helpers/slapd.js';
import { startProxy } from '../helpers/proxy.js';
import type { ProxyOptions, ProxyProcess } from '../helpers/proxy.js';

export const PYTHON = '/usr/bin/python3';

export interface Stack {
  slapd: Slapd;
  proxy: ProxyProcess;
  stop(): Promise<void>;
}

/** slapd + proxy in front of it; stop() stops both and checks the proxy never died on its own. */
export async function startStack(
  slapdOpts: SlapdOptions = {},
  proxyOpts: Partial<ProxyOptions> = {},
): Promise<Stack> {
  const slapd = await startSlapd(slapdOpts);
  let proxy: ProxyProcess;
  try {
    proxy = await startProxy({ backends: [slapd.url], ...proxyOpts });
  } catch (e) {
    await slapd.destroy();
    throw e;
  }
  return {
    slapd,
    proxy,
    stop: async () => {
      await proxy.stop();
      await slapd.destroy();
    },
  };
}

/** Runs an ldap-utils tool against one URL (with -H prepended). */
export function ldapTool(
  tool: string,
  url: string,
  args: readonly string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return run(tool, ['-H', url, ...args], {
    input: opts.input,
    env: { ...process.env, ...opts.env },
    timeoutMs: 30_000,
  });
}

/** Same command against slapd directly and through the proxy. */
export async function both(
  stack: Stack,
  tool: string,
  args: readonly string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ direct: RunResult; proxied: RunResult }> {
  const direct = await ldapTool(tool, stack.slapd.url, args, opts);
  const proxied = await ldapTool(tool, stack.proxy.url(), args, opts);
  return { direct, proxied };
}

/** Asserts identical exit code, stdout bytes and stderr; returns the direct result for further checks. */
export function assertSame(r: { direct: RunResult; proxied: RunResult }, stderrToo = true): RunResult {
  assert.equal(r.proxied.code, r.direct.code, `exit code differs; proxied stderr: ${r.proxied.stderr}`);
  assert.ok(
    r.proxied.stdoutBytes.equals(r.direct.stdoutBytes),
    `stdout differs\n--- direct\n${r.direct.stdout}\n--- proxied\n${r.proxied.stdout}`,
  );
  if (stderrToo) assert.equal(r.proxied.stderr, r.direct.stderr);
  return r.direct;
}

/** Runs a Python (python-ldap) script given as source; JSON on its last stdout line is returned. */
export async function runPython(
  source: string,
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<{ code: number | null; json: unknown; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'shrtok-py-'));
  try {
    const file = join(dir, 'script.py');
    writeFileSync(file, source);
    const r = await run(PYTHON, [file, ...args], { timeoutMs, cwd: dir });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    let json: unknown = undefined;
    try {
      json = JSON.parse(last);
    } catch {
      // left undefined; the caller's assertion shows stdout/stderr
    }
    return { code: r.code, json, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
