// Readiness checks registered by other modules (backend pool, key provider, schema). /readyz passes
// only when every check passes; each check is bounded by a timeout so a hung backend cannot hang it.

export type CheckOutcome = boolean | { ok: boolean; detail?: string };
export type ReadinessCheck = () => Promise<CheckOutcome> | CheckOutcome;

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Why it failed (or what it saw); never a secret. */
  detail?: string;
  ms: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: CheckResult[];
}

interface Entry {
  check: ReadinessCheck;
  timeoutMs: number;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 2000;

export class Readiness {
  private readonly checks = new Map<string, Entry>();

  /**
   * Adds a named check, e.g. register('backend', async () => pool.anyUp()). A check that throws,
   * returns false or exceeds `timeoutMs` fails. Registering a name again replaces it.
   * Returns a function that removes the check.
   */
  register(name: string, check: ReadinessCheck, opts: { timeoutMs?: number } = {}): () => void {
    const entry = { check, timeoutMs: opts.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS };
    this.checks.set(name, entry);
    return () => {
      if (this.checks.get(name) === entry) this.checks.delete(name);
    };
  }

  names(): string[] {
    return [...this.checks.keys()];
  }

  /** Runs every check concurrently. With no checks registered the process is not ready: the owner
   *  of serve registers at least the backend check before it listens. */
  async evaluate(): Promise<ReadinessReport> {
    const results = await Promise.all([...this.checks].map(([name, e]) => runCheck(name, e)));
    if (results.length === 0)
      return {
        ready: false,
        checks: [{ name: 'checks', ok: false, detail: 'no readiness checks registered', ms: 0 }],
      };
    return { ready: results.every((r) => r.ok), checks: results };
  }
}

async function runCheck(name: string, entry: Entry): Promise<CheckResult> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, detail: `timed out after ${entry.timeoutMs} ms` }),
      entry.timeoutMs,
    );
  });
  let outcome: CheckOutcome;
  try {
    outcome = await Promise.race([Promise.resolve().then(entry.check), timeout]);
  } catch (e) {
    // The error's class only: messages from lower layers could carry data we do not control.
    outcome = { ok: false, detail: `check failed: ${e instanceof Error ? e.name : 'error'}` };
  } finally {
    clearTimeout(timer);
  }
  const ms = Math.round((performance.now() - start) * 10) / 10;
  if (typeof outcome === 'boolean')
    return outcome ? { name, ok: true, ms } : { name, ok: false, detail: 'not ready', ms };
  const result: CheckResult = { name, ok: outcome.ok === true, ms };
  if (outcome.detail !== undefined) result.detail = String(outcome.detail);
  return result;
}
