// Replays one byte string against the running proxy on its own connection and checks the outcome the
// framing rules predict: complete PDUs are answered (a trailing sentinel request gets its response) or the
// connection is closed; an unfinished PDU is closed once the client half-closes; a PDU the proxy must refuse
// closes the connection. Everything received must be whole, well-formed LDAPMessages. All within a
// per-case deadline (a liveness bound: a hang fails the case, a slow machine only risks the 500 ms).
import assert from 'node:assert/strict';
import { run } from '../helpers/run.js';
import { NOTICE_OF_DISCONNECTION, classify, probe } from './ldap-wire.js';
import type { Expectation, ProbeResult } from './ldap-wire.js';
import { rootDseSearch } from './pdus.js';

export const SENTINEL_ID = 0x7ffffff3;
const SENTINEL = rootDseSearch(SENTINEL_ID);
/** Default anonymous PDU limit of the proxy (slapd's sockbuf_max_incoming). */
export const ANONYMOUS_PDU_LIMIT = 262143;
/** Default PDU limit after a successful bind (sockbuf_max_incoming_auth). */
export const BOUND_PDU_LIMIT = 4194303;
export const CASE_DEADLINE_MS = Number(process.env.SHRTOK_CASE_DEADLINE_MS ?? 500);

export interface CaseStats {
  cases: number;
  answered: number;
  closed: number;
  resets: number;
  byExpectation: Record<Expectation, number>;
  slowestMs: number;
  /** What the slowest case was, for the report. */
  slowest: string;
  /** Cases that took over half the deadline. */
  overHalfDeadline: number;
  /** Cases that missed the deadline once and met it when sent again. */
  retried: number;
}

export function newStats(): CaseStats {
  return {
    cases: 0,
    answered: 0,
    closed: 0,
    resets: 0,
    byExpectation: { complete: 0, truncated: 0, invalid: 0 },
    slowestMs: 0,
    slowest: '',
    overHalfDeadline: 0,
    retried: 0,
  };
}

/** Returns a failure description, or undefined when the proxy behaved. */
export function judge(expect: Expectation, r: ProbeResult): string | undefined {
  if (r.outcome === 'deadline')
    return `no answer and no close within ${CASE_DEADLINE_MS} ms (expected: ${expect}; got ${r.messages.length} message(s))`;
  if (!r.reset && (r.malformed || r.rest.length > 0))
    return `the proxy sent bytes that are not whole LDAPMessages: ${r.rest.subarray(0, 32).toString('hex')}`;
  if (expect !== 'complete' && r.outcome === 'answered') return `answered although the input was ${expect}`;
  for (const m of r.messages) {
    if (m.id === 0 && m.responseName === NOTICE_OF_DISCONNECTION && m.resultCode !== 2 && m.resultCode !== 52)
      return `Notice of Disconnection with resultCode ${m.resultCode}`;
  }
  return undefined;
}

/**
 * `mayBind`: the case starts with a bind that can succeed, so the proxy may apply the bound PDU limit to
 * what follows (or not, depending on timing). When the two limits predict different outcomes, the case is
 * ended with a half-close and only liveness and well-formedness are checked.
 */
export async function replayCase(
  port: number,
  bytes: Buffer,
  stats: CaseStats,
  mayBind = false,
): Promise<string | undefined> {
  let expect = classify(bytes, ANONYMOUS_PDU_LIMIT);
  const ambiguous = mayBind && classify(bytes, BOUND_PDU_LIMIT) !== expect;
  if (ambiguous) expect = 'truncated';
  const send = (): Promise<ProbeResult> =>
    probe(
      port,
      bytes,
      expect === 'complete'
        ? { sentinel: SENTINEL, sentinelId: SENTINEL_ID, deadlineMs: CASE_DEADLINE_MS }
        : { finish: expect === 'truncated', deadlineMs: CASE_DEADLINE_MS },
    );
  let r = await send();
  // A hang is a property of the input and happens again; a whole-machine stall (this box is shared: other
  // suites and benchmarks run beside this one) hits every case in flight once. So a case that misses the
  // deadline is sent once more on a new connection, and fails only if it misses it again.
  if (r.outcome === 'deadline') {
    r = await send();
    if (r.outcome !== 'deadline') stats.retried++;
  }
  stats.cases++;
  stats.byExpectation[expect]++;
  if (r.outcome === 'answered') stats.answered++;
  if (r.outcome === 'closed') stats.closed++;
  if (r.reset) stats.resets++;
  if (r.ms > stats.slowestMs) {
    stats.slowestMs = r.ms;
    stats.slowest = `${expect}/${r.outcome}: ${bytes.subarray(0, 48).toString('hex')}`;
  }
  if (r.ms > CASE_DEADLINE_MS / 2) stats.overHalfDeadline++;
  return judge(expect, r);
}

/** Runs `next()` cases with `workers` connections at a time until it returns undefined. */
export async function runPool(
  workers: number,
  next: () => Buffer | undefined,
  one: (b: Buffer) => Promise<void>,
): Promise<void> {
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let b = next(); b !== undefined; b = next()) await one(b);
    }),
  );
}

/** After a replay run: an ordinary client (ldapsearch) still finds user `uid` through the proxy. */
export async function assertStillServes(url: string, uid: string): Promise<void> {
  const r = await run('ldapsearch', [
    '-x',
    '-LLL',
    '-H',
    url,
    '-b',
    'ou=People,dc=example,dc=com',
    `(uid=${uid})`,
    'uid',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^uid: ${uid}$`, 'm'));
}
