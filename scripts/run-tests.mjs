// Runs every test file under test/ with node:test through tsx and ends with "N passed, N failed".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = collect('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_ENV: 'test' } },
);
let pass = 0;
let fail = 0;
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const text = tail + chunk.toString();
  const lines = text.split('\n');
  tail = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^ℹ (pass|fail|cancelled) (\d+)$/.exec(line.trim());
    if (m?.[1] === 'pass') pass = Number(m[2]);
    // A cancelled test (a hook or the file timed out) did not pass: count it with the failures.
    else if (m?.[1] === 'fail' || m?.[1] === 'cancelled') fail += Number(m[2]);
  }
});
child.on('exit', (code) => {
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(code ?? 1);
});
