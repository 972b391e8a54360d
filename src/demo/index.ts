export { startDemo } from './demo.js';
export type { DemoOptions, RunningDemo } from './demo.js';
