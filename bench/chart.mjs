// Draws the proxy benchmark as an SVG from the RESULT lines that `proxy-bench.sh -o FILE` writes:
// throughput as a ratio to direct, and proxy CPU per operation, medians over the runs.
// Usage: node bench/chart.mjs RESULTS.txt [OUT.svg]
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output = input.replace(/\.txt$/, '') + '.svg'] = process.argv.slice(2);
if (!input) {
  console.error('usage: node bench/chart.mjs RESULTS.txt [OUT.svg]');
  process.exit(2);
}

const rows = readFileSync(input, 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('RESULT kind='))
  .map((l) =>
    Object.fromEntries(
      l
        .slice(7)
        .split(' ')
        .map((kv) => kv.split('=')),
    ),
  );
if (rows.length === 0) {
  console.error(`${input}: no RESULT lines`);
  process.exit(1);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const groups = [...new Set(rows.map((r) => `${r.kind} ${r.conc}`))];
const labels = {
  direct: 'slapd direct',
  shrtok: 'shrtok-proxy',
  backldap: 'OpenLDAP back-ldap',
  haproxy: 'HAProxy TCP relay',
};
const colours = { direct: '#9aa5b1', shrtok: '#1f6feb', backldap: '#d97706', haproxy: '#16a34a' };
// Targets in the order of the labels, those present in the results only (older runs have no haproxy).
const targets = Object.keys(labels).filter((t) => rows.some((r) => r.target === t));
const cell = (group, target, field) => {
  const [kind, conc] = group.split(' ');
  const xs = rows
    .filter((r) => r.kind === kind && r.conc === conc && r.target === target && r[field] !== '-')
    .map((r) => Number(r[field]));
  return xs.length ? median(xs) : undefined;
};

const W = 760;
const panelH = 250;
const left = 60;
const plotW = W - left - 20;
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const out = [];

function panel(y0, title, field, { ratio, targetLine, unit }) {
  const values = groups.map((g) =>
    targets.map((t) => {
      const v = cell(g, t, field);
      const d = cell(g, 'direct', field);
      return ratio ? (v !== undefined && d ? v / d : undefined) : v;
    }),
  );
  const max = Math.max(targetLine ?? 0, ...values.flat().filter((v) => v !== undefined)) * 1.15;
  const plotH = panelH - 70;
  const base = y0 + 40 + plotH;
  const scale = (v) => (v / max) * plotH;
  out.push(`<text x="${left}" y="${y0 + 20}" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    const y = base - scale(v);
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(
      `<text x="${left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${v.toFixed(ratio ? 2 : 0)}</text>`,
    );
  }
  const groupW = plotW / groups.length;
  const barW = Math.min(40, (groupW - 20) / targets.length);
  groups.forEach((g, gi) => {
    const gx = left + gi * groupW + (groupW - barW * targets.length) / 2;
    targets.forEach((t, ti) => {
      const v = values[gi][ti];
      if (v === undefined) return;
      const h = scale(v);
      const x = gx + ti * barW;
      out.push(`<rect x="${x}" y="${base - h}" width="${barW - 4}" height="${h}" fill="${colours[t]}"/>`);
      out.push(
        `<text x="${x + (barW - 4) / 2}" y="${base - h - 4}" font-size="10" text-anchor="middle">${v.toFixed(ratio ? 2 : 0)}</text>`,
      );
    });
    out.push(
      `<text x="${left + gi * groupW + groupW / 2}" y="${base + 16}" font-size="12" text-anchor="middle">${esc(`${g.split(' ')[0]}, ${g.split(' ')[1]} conn`)}</text>`,
    );
  });
  if (targetLine !== undefined) {
    const y = base - scale(targetLine);
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#dc2626" stroke-dasharray="6 4"/>`,
    );
    out.push(
      `<text x="${left + plotW}" y="${y - 4}" font-size="11" text-anchor="end" fill="#dc2626">target ${targetLine}${unit}</text>`,
    );
  }
}

panel(0, 'Throughput relative to slapd direct (higher is better)', 'ops_s', {
  ratio: true,
  targetLine: 0.8,
  unit: '',
});
panel(panelH, 'Proxy CPU per operation, µs (lower is better)', 'proxy_us_op', {
  ratio: false,
  targetLine: 20,
  unit: ' µs',
});
const legendY = panelH * 2 + 10;
targets.forEach((t, i) => {
  const x = left + i * 200;
  out.push(`<rect x="${x}" y="${legendY}" width="12" height="12" fill="${colours[t]}"/>`);
  out.push(`<text x="${x + 18}" y="${legendY + 11}" font-size="12">${labels[t]}</text>`);
});
out.push(
  `<text x="${left}" y="${legendY + 32}" font-size="11" fill="#4b5563">${esc(`medians of ${rows.length} RESULT rows from ${input.split('/').pop()}; 2-core machine shared by load tool, slapd and proxy`)}</text>`,
);

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${panelH * 2 + 55}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${out.join('\n')}
</svg>
`;
writeFileSync(output, svg);
console.log(`wrote ${output}`);
