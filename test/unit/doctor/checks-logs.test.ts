/**
 * doctor's checks of where login records go: the filesystems of the journal and /var/log
 * (a flood of failed logins fills them with auth lines) and journald's size cap.
 */
import { checkJournaldCap, checkLogSpace, journaldSettings, parseJournaldSize } from '../../../src/doctor/checks-logs';
import { checkTable, healthyFacts } from '../../helpers/doctor-fixtures';
import type { DoctorFacts } from '../../../src/doctor/facts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const space = (f: DoctorFacts, path: string, availBytes: number, sizeBytes = 20 * GiB) => {
  f.logs.space = f.logs.space.map((s) => (s.path === path ? { path, sizeBytes, availBytes } : s));
};

checkTable('log-space', checkLogSpace, [
  ['plenty of room', () => {}, 'ok', /\/var\/log/],
  ['the journal filesystem nearly full (under 5 %)', (f) => space(f, '/var/log/journal', 500 * MiB), 'fail', /\/var\/log\/journal .*nearly full/, /journalctl --vacuum-size/],
  ['a small filesystem with under 64 MiB left', (f) => space(f, '/var/log', 60 * MiB, 200 * MiB), 'fail', /\/var\/log .*nearly full/],
  ['filling up (under 15 %)', (f) => space(f, '/var/log', 2 * GiB), 'warn', /\/var\/log/],
  ['a filesystem that cannot be read is a warning, not a pass', (f) => { f.logs.space[0] = { path: '/var/log/journal', error: 'EACCES' }; }, 'warn', /EACCES/],
  ['nothing to read', (f) => { f.logs.space = []; }, 'skip'],
]);

checkTable('journald-cap', checkJournaldCap, [
  ['the defaults cap the journal (10 % of the filesystem, 15 % kept free)', () => {}, 'ok', /2\.0 GiB/],
  ['SystemMaxUse set', (f) => { f.logs.journald!.maxUse = '200M'; }, 'ok', /200\.0 MiB/],
  ['no cap: SystemMaxUse as large as the filesystem and nothing kept free', (f) => { f.logs.journald!.maxUse = '100T'; f.logs.journald!.keepFree = '0'; }, 'fail', /no size cap/, /SystemMaxUse=.*systemctl restart systemd-journald/],
  ['SystemMaxUse=infinity with nothing kept free', (f) => { f.logs.journald!.maxUse = 'infinity'; f.logs.journald!.keepFree = '0'; }, 'fail', /no size cap/],
  ['a huge SystemMaxUse still leaves the default 15 % free: capped', (f) => { f.logs.journald!.maxUse = '100T'; }, 'ok'],
  ['a value journald would not parse', (f) => { f.logs.journald!.maxUse = 'lots'; }, 'warn', /lots/],
  ['the journal in /run (volatile): its filesystem is judged', (f) => { f.logs.journald!.dir = '/run/log/journal'; f.logs.space.push({ path: '/run/log/journal', sizeBytes: GiB, availBytes: GiB }); }, 'ok', /\/run\/log\/journal/],
  ['no journald', (f) => { f.logs.journald = null; }, 'skip'],
  ['the journal filesystem unknown', (f) => { f.logs.space = []; }, 'skip'],
]);

describe('journaldSettings', () => {
  test('the last assignment wins, an empty one resets to the default, other sections are ignored', () => {
    const text = ['# /etc/systemd/journald.conf', '[Journal]', '#SystemMaxUse=1G', 'SystemMaxUse=1G', 'Storage=auto', '',
      '# /etc/systemd/journald.conf.d/a.conf', '[Journal]', 'SystemMaxUse=2G', 'SystemKeepFree = 0 ', '[Other]', 'SystemMaxUse=9G',
      '# b.conf', '[Journal]', 'SystemKeepFree='].join('\n');
    expect(journaldSettings(text)).toEqual({ SystemMaxUse: '2G', Storage: 'auto' });
  });
});

describe('parseJournaldSize', () => {
  test.each([
    ['0', 0], ['512', 512], ['200M', 200 * MiB], ['1.5G', 1.5 * GiB], ['4 G', 4 * GiB], ['100T', 100 * 1024 * GiB], ['2K', 2048], ['infinity', Infinity],
  ])('%s', (text, bytes) => expect(parseJournaldSize(text)).toBe(bytes));
  test.each(['', 'lots', '-1G', '1Q', '1e9'])('%j is not a size', (text) => expect(parseJournaldSize(text)).toBeNull());
});

test('healthy facts pass both', () => {
  const f = healthyFacts();
  expect(checkLogSpace(f).status).toBe('ok');
  expect(checkJournaldCap(f).status).toBe('ok');
});
