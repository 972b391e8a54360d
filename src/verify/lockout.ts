// Failure counting per key (identity or client address): after maxFailures within windowMs the key is locked
// for durationMs. Bounded, so a flood of made-up identities cannot grow memory without limit.
import { LRUCache } from 'lru-cache';
import type { Clock } from './types.js';

export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  durationMs: number;
  /** Keys tracked at once; the least recently failed are forgotten first. */
  maxTracked?: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, windowMs: 600_000, durationMs: 900_000 };
export const DEFAULT_CLIENT_LIMIT: LockoutPolicy = { maxFailures: 50, windowMs: 60_000, durationMs: 300_000 };

interface FailureState {
  /** Times of failures inside the window, oldest first. */
  failures: number[];
  lockedUntil: number;
}

export class Lockout {
  private readonly states: LRUCache<string, FailureState>;

  constructor(
    public policy: LockoutPolicy,
    private readonly clock: Clock = Date.now,
  ) {
    if (policy.maxFailures < 1) throw new Error('lockout maxFailures must be at least 1');
    this.states = new LRUCache({ max: policy.maxTracked ?? 100_000 });
  }

  /** New limits (SIGHUP); failures already counted and locks already running are kept. */
  setPolicy(policy: LockoutPolicy): void {
    if (policy.maxFailures < 1) throw new Error('lockout maxFailures must be at least 1');
    this.policy = { ...policy, maxTracked: this.policy.maxTracked };
  }

  /** Keys locked right now (for the shrtok_lockouts_active gauge; walks the table, so call it per scrape). */
  activeCount(): number {
    const now = this.clock();
    let n = 0;
    for (const s of this.states.values()) if (s.lockedUntil > now) n++;
    return n;
  }

  isLocked(key: string): boolean {
    const s = this.states.peek(key);
    return s !== undefined && s.lockedUntil > this.clock();
  }

  /** Counts one failure; returns true when this failure started a lock. */
  recordFailure(key: string): boolean {
    const now = this.clock();
    const s = this.states.get(key) ?? { failures: [], lockedUntil: 0 };
    if (s.lockedUntil > now) return false;
    const since = now - this.policy.windowMs;
    s.failures = s.failures.filter((t) => t > since);
    s.failures.push(now);
    if (s.failures.length >= this.policy.maxFailures) {
      s.lockedUntil = now + this.policy.durationMs;
      s.failures = [];
    }
    this.states.set(key, s);
    return s.lockedUntil > now;
  }

  /** A success clears the failures (but does not lift a running lock: isLocked is checked first). */
  recordSuccess(key: string): void {
    const s = this.states.peek(key);
    if (s && s.lockedUntil <= this.clock()) this.states.delete(key);
  }

  unlock(key: string): void {
    this.states.delete(key);
  }
}
