// A fixed set of PKCS#11 sessions, one operation per session at a time; callers queue when all are busy.
import type pkcs11js from 'pkcs11js';

type Session = pkcs11js.Handle;

interface Waiter {
  resolve: (s: Session) => void;
  reject: (e: Error) => void;
}

export class SessionPool {
  private readonly free: Session[];
  private readonly waiters: Waiter[] = [];
  private busy = 0;
  private closedWith: Error | undefined;
  private onIdle: (() => void) | undefined;

  constructor(readonly sessions: readonly Session[]) {
    this.free = [...sessions];
  }

  get size(): number {
    return this.sessions.length;
  }

  acquire(): Promise<Session> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const s = this.free.pop();
    if (s) {
      this.busy++;
      return Promise.resolve(s);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(session: Session): void {
    const next = this.closedWith ? undefined : this.waiters.shift();
    if (next) {
      next.resolve(session); // stays busy, handed over
      return;
    }
    this.busy--;
    this.free.push(session);
    if (this.busy === 0) this.onIdle?.();
  }

  /** Stops handing out sessions (queued callers get `reason`) and resolves once running operations end. */
  async close(reason: Error): Promise<void> {
    this.closedWith = reason;
    for (const w of this.waiters.splice(0)) w.reject(reason);
    if (this.busy > 0) await new Promise<void>((r) => (this.onIdle = r));
  }
}
