// A well-behaved client that keeps reading the root DSE through the proxy while an attack runs, so each
// resource test can report another client's latency before and during it. The only assertion it makes is
// the generous liveness bound of LdapClient.ping (an answer within 5 s): the "within 2x" comparison is a
// benchmark, bench/attack-latency.ts, not a timed assertion.
import { LdapClient, summarize } from './ldap-client.js';

export class Canary {
  private samples: number[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private failure: Error | undefined;

  private constructor(private readonly client: LdapClient) {}

  static async open(port: number): Promise<Canary> {
    const c = await LdapClient.open(port);
    await c.ping();
    return new Canary(c);
  }

  /** Pings every `gapMs` until stop(); returns the samples of that window. */
  start(gapMs = 50): void {
    this.samples = [];
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          this.samples.push(await this.client.ping(5000));
        } catch (e) {
          this.failure = e as Error;
          return;
        }
        await new Promise((r) => setTimeout(r, gapMs));
      }
    })();
  }

  async stop(): Promise<number[]> {
    this.running = false;
    await this.loop;
    if (this.failure) throw this.failure;
    return this.samples;
  }

  /** Baseline window, then the window while `during` runs; returns the report line. */
  async compare(during: () => Promise<void>, baselineMs = 1000): Promise<string> {
    this.start();
    await new Promise((r) => setTimeout(r, baselineMs));
    const before = await this.stop();
    this.start();
    let after: number[];
    try {
      await during();
    } finally {
      after = await this.stop();
    }
    return `other client's latency before: ${summarize(before)}; during: ${summarize(after)}`;
  }

  close(): void {
    this.client.close();
  }
}
