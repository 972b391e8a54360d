// The process helpers live in src/embedded (the demo uses them too); tests import them from here.
export { freePort, run, sleep, waitFor } from '../../src/embedded/process.js';
export type { RunResult } from '../../src/embedded/process.js';
