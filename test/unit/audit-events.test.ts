/**
 * docs/audit.md lists every event the code can log, and only those: the events are read from the
 * source (the event argument of each `log.log(level, event, …)` call, and `sync.<code>` for every
 * plan notice code) and compared with the first column of the tables under "## Events".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { NOTICE_CODES } from '../../src/sync/notice-codes';

const ROOT = join(__dirname, '..', '..');
const SRC = join(ROOT, 'src');

/** `area.words_with_underscores`: one spelling for every event. */
const EVENT_FORM = /^[a-z]+\.[a-z]+(?:_[a-z]+)*$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []);
}

interface Found {
  events: Set<string>;
  /** Event arguments that are neither a literal nor `sync.${notice code}`: each must be made readable. */
  unreadable: string[];
  /** Code literals of notices (`code: '…'` in src/sync). */
  noticeLiterals: Set<string>;
}

/** The names an event argument can take; null when it cannot be read from the source. */
function eventNames(arg: ts.Expression): string[] | null {
  if (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) return [arg.text];
  if (ts.isParenthesizedExpression(arg)) return eventNames(arg.expression);
  if (ts.isConditionalExpression(arg)) {
    const a = eventNames(arg.whenTrue);
    const b = eventNames(arg.whenFalse);
    return a && b ? [...a, ...b] : null;
  }
  // sync logs each plan notice as `sync.${n.code}`.
  if (ts.isTemplateExpression(arg) && arg.head.text === 'sync.' && arg.templateSpans.length === 1 && arg.templateSpans[0]!.literal.text === '') {
    const span = arg.templateSpans[0]!.expression;
    if (ts.isPropertyAccessExpression(span) && span.name.text === 'code') return [NOTICE];
  }
  return null;
}

/** Stands for every notice code: NOTICE_CODES and each `code: '…'` written in src/sync. */
const NOTICE = 'sync.<notice>';

function scan(): Found {
  const found: Found = { events: new Set(), unreadable: [], noticeLiterals: new Set() };
  for (const file of sourceFiles(SRC)) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const where = (n: ts.Node) => `${relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'log'
        && !(ts.isIdentifier(node.expression.expression) && node.expression.expression.text === 'console') && node.arguments.length >= 2) {
        const names = eventNames(node.arguments[1]!);
        if (names) names.forEach((n) => found.events.add(n));
        else found.unreadable.push(`${where(node)}: ${node.arguments[1]!.getText(sf)}`);
      }
      if (file.includes(join('src', 'sync')) && ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'code') {
        const init = node.initializer;
        if (ts.isStringLiteral(init) || ts.isNoSubstitutionTemplateLiteral(init)) found.noticeLiterals.add(init.text);
        // A code built from a string cannot be listed: take it from a table typed NoticeCode instead.
        else if (ts.isTemplateExpression(init) || ts.isBinaryExpression(init)) found.unreadable.push(`${where(node)}: ${init.getText(sf)}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  if (found.events.delete(NOTICE)) for (const c of [...NOTICE_CODES, ...found.noticeLiterals]) found.events.add(`sync.${c}`);
  return found;
}

const doc = readFileSync(join(ROOT, 'docs', 'audit.md'), 'utf8');
const section = (title: string) => doc.split(/^## /m).find((s) => s.startsWith(title)) ?? '';
/** Backticked event names in the first cell of each table row of a section. */
function firstColumnEvents(text: string): string[] {
  return text.split('\n').filter((l) => /^\| `/.test(l)).flatMap((l) => [...l.split('|')[1]!.matchAll(/`([a-z]+\.[a-z_-]+)`/g)].map((m) => m[1]!));
}

describe('log events', () => {
  const found = scan();

  test('every event argument can be read from the source', () => {
    expect(found.unreadable).toEqual([]);
    expect(found.events.size).toBeGreaterThan(30);
  });

  test('one spelling: area.words_with_underscores', () => {
    expect([...found.events].filter((e) => !EVENT_FORM.test(e))).toEqual([]);
  });

  test('every notice code written in src/sync is one of NOTICE_CODES', () => {
    expect([...found.noticeLiterals].filter((c) => !(NOTICE_CODES as readonly string[]).includes(c))).toEqual([]);
  });

  test('docs/audit.md lists every event the code can log, and no other', () => {
    const documented = firstColumnEvents(section('Events'));
    expect(documented.length).toBe(new Set(documented).size);
    const emitted = [...found.events];
    expect({ undocumented: emitted.filter((e) => !documented.includes(e)).sort(), notEmitted: documented.filter((e) => !found.events.has(e)).sort() })
      .toEqual({ undocumented: [], notEmitted: [] });
  });

  test('the renamed events of docs/audit.md: old names are logged no more, new names are', () => {
    const rows = section('Renamed events').split('\n').filter((l) => /^\| `/.test(l)).map((l) => l.split('|').slice(1, 3).map((c) => /`([^`]+)`/.exec(c)?.[1]));
    expect(rows.length).toBeGreaterThan(0);
    for (const [old, now] of rows) {
      expect(found.events.has(old!)).toBe(false);
      expect(found.events.has(now!)).toBe(true);
    }
  });
});
