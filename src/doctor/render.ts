/** How `doctor` reports: one line per check with the fix under problems, or one JSON document. */
import type { CheckResult } from './facts';

const LABEL = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' } as const;

export function renderTable(results: CheckResult[]): string {
  const width = Math.max(...results.map((c) => c.id.length), 2);
  const lines: string[] = [];
  for (const c of results) {
    lines.push(`${LABEL[c.status].padEnd(4)}  ${c.id.padEnd(width)}  ${oneLine(c.summary)}`);
    if (c.fix && (c.status === 'fail' || c.status === 'warn')) lines.push(`${' '.repeat(width + 8)}fix: ${oneLine(c.fix)}`);
  }
  const n = counts(results);
  lines.push('', `${n.fail} failed, ${n.warn} warnings, ${n.ok} ok, ${n.skip} skipped`);
  return lines.join('\n') + '\n';
}

/** Field names are stable: version, ok, counts, checks[{ id, status, summary, fix? }]. */
export function renderJson(results: CheckResult[]): string {
  const n = counts(results);
  return JSON.stringify({ version: 1, ok: n.fail === 0, counts: n, checks: results }, null, 2) + '\n';
}

function counts(results: CheckResult[]): Record<'ok' | 'warn' | 'fail' | 'skip', number> {
  const n = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of results) n[c.status]++;
  return n;
}

/** A name from a hostile file must not forge extra lines in an operator's terminal. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, '?');
}
