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
