// The metric names deploy/ (alert rules, Grafana dashboard) depends on, and a check against a scrape.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Exposition } from './exposition.js';
import { familyOf, metricNames } from './promql-names.js';

export const PROM_DIR = 'deploy/prometheus';
export const DASHBOARD = 'deploy/grafana/shrtok-proxy.dashboard.json';
/** Series Prometheus itself creates for every target. */
const SYNTHETIC = new Set(['up']);

export interface RuleFile {
  groups: {
    name: string;
    rules: {
      alert?: string;
      expr: string;
      for?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    }[];
  }[];
}
export interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

export function ruleFiles(): string[] {
  return readdirSync(PROM_DIR)
    .filter((f) => f.endsWith('.rules.yml'))
    .map((f) => join(PROM_DIR, f));
}

export function deployExpressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const file of ruleFiles()) {
    const doc = parseYaml(readFileSync(file, 'utf8')) as RuleFile;
    for (const g of doc.groups)
      for (const r of g.rules) out.push({ where: `${file} ${r.alert ?? ''}`, expr: r.expr });
  }
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Panel[];
    templating: { list: { query?: { query: string } }[] };
  };
  for (const p of dash.panels)
    for (const t of p.targets ?? []) out.push({ where: `${DASHBOARD} "${p.title}"`, expr: t.expr });
  for (const v of dash.templating.list)
    if (v.query?.query)
      out.push({
        where: `${DASHBOARD} variable`,
        expr: v.query.query.replace(/^label_values\((\w+),.*\)$/, '$1'),
      });
  return out;
}

/** Asserts every metric named in deploy/ exists in the scrape with samples of the right type. */
export function assertDeployNamesIn(
  exp: Exposition,
  opts: { requireSamples: (name: string) => boolean },
): string[] {
  const sampleNames = new Set(exp.samples.map((s) => s.name));
  const checked = new Set<string>();
  for (const { where, expr } of deployExpressions()) {
    for (const name of metricNames(expr)) {
      if (SYNTHETIC.has(name)) continue;
      const fam = familyOf(name, exp.types);
      assert.ok(fam, `${where}: metric ${name} is not in /metrics`);
      if (/_bucket$/.test(name)) assert.equal(fam.type, 'histogram', `${where}: ${name} is not a histogram`);
      if (
        /\b(?:rate|increase)\(\s*[^()]*$/.test(expr.slice(0, expr.indexOf(name))) &&
        !/_(bucket|sum|count)$/.test(name)
      )
        assert.equal(fam.type, 'counter', `${where}: rate/increase over ${name}, a ${fam.type}`);
      if (opts.requireSamples(name))
        assert.ok(sampleNames.has(name), `${where}: ${name} has no samples in /metrics`);
      checked.add(name);
    }
  }
  return [...checked].sort();
}
