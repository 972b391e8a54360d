// Runs the CLI from source (tsx) in a child process, so tests see real exit codes, stdout and stderr.
import { fileURLToPath } from 'node:url';
import { run } from '../helpers/run.js';
import type { RunResult } from '../helpers/run.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const BOOT = `import(${JSON.stringify(MAIN)}).then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); }, (e) => { console.error(String(e)); process.exitCode = 1; });`;

export function runCli(
  args: readonly string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return run(process.execPath, ['--import', 'tsx', '-e', BOOT, ...args], {
    ...opts,
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
}

const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs the CLI under a pseudo-terminal (util-linux `script`), so stderr.isTTY is true as for an operator. */
export function runCliOnTerminal(args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const command = [process.execPath, '--import', 'tsx', '-e', BOOT, ...args].map(shellQuote).join(' ');
  return run('/usr/bin/script', ['-qec', command, '/dev/null'], { env: opts.env, timeoutMs: 120_000 });
}
