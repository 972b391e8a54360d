// The well-behaved client of attack-latency.ts in a process of its own, so the attacker's work in the bench
// process (building and parsing megabytes of PDUs) does not delay the canary's own event loop and count as
// proxy latency. Parent → child: 'start' | 'stop' | 'close'; child → parent: 'ready', then the samples (ms)
// of each window after 'stop'.
import { Canary } from '../../test/robustness/canary.js';

const canary = await Canary.open(Number(process.argv[2]));
process.on('message', (m: unknown) => {
  if (m === 'start') canary.start(10);
  else if (m === 'stop') void canary.stop().then((samples) => process.send?.(samples));
  else if (m === 'close') {
    canary.close();
    process.disconnect();
  }
});
process.send?.('ready');
