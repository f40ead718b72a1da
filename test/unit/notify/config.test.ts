/** NOTIFY_* settings and the per-user groups that sync records for notify-login. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaults } from '../../../src/config/config';
import { buildConfig } from '../../../src/config/layers';
import { parseConfigText, ConfigError } from '../../../src/config/parse';
import { readSyncState } from '../../../src/state/sync-state';

const FILE = 'iam-ssh.conf';
const build = (text: string) => buildConfig(FILE, parseConfigText(text, FILE)).config;

describe('NOTIFY_* settings', () => {
  test('defaults: nothing is reported, 3 s budget, /usr/sbin/sendmail', () => {
    const d = defaults();
    expect([d.notifyGroups, d.notifyIgnoreUsers, d.notifyWebhookUrl, d.notifyEmail, d.notifyTimeoutMs, d.sendmailProgram])
      .toEqual([[], [], null, [], 3000, '/usr/sbin/sendmail']);
  });

  test('parses groups, ##ALL##, ignore list, webhook, addresses, timeout', () => {
    const c = build([
      'NOTIFY_GROUPS="break-glass, auditors"', 'NOTIFY_IGNORE_USERS=deploy,ansible_run', 'NOTIFY_WEBHOOK_URL=https://hooks.example.com/services/T0/B0/x?y=1',
      'NOTIFY_EMAIL="ops@example.com,sec+iam@corp.example.org"', 'NOTIFY_TIMEOUT=1500ms', 'SENDMAIL_PROGRAM=/usr/lib/sendmail',
    ].join('\n'));
    expect(c.notifyGroups).toEqual(['break-glass', 'auditors']);
    expect(c.notifyIgnoreUsers).toEqual(['deploy', 'ansible_run']);
    expect(c.notifyWebhookUrl).toBe('https://hooks.example.com/services/T0/B0/x?y=1');
    expect(c.notifyEmail).toEqual(['ops@example.com', 'sec+iam@corp.example.org']);
    expect(c.notifyTimeoutMs).toBe(1500);
    expect(c.sendmailProgram).toBe('/usr/lib/sendmail');
    expect(build('NOTIFY_GROUPS="##ALL##"').notifyGroups).toBe('all');
  });

  test('plain http only to loopback', () => {
    expect(build('NOTIFY_WEBHOOK_URL=http://127.0.0.1:8080/hook').notifyWebhookUrl).toBe('http://127.0.0.1:8080/hook');
    expect(build('NOTIFY_WEBHOOK_URL=http://[::1]/h').notifyWebhookUrl).toBe('http://[::1]/h');
    for (const bad of ['http://hooks.example.com/x', 'ftp://127.0.0.1/x', 'file:///etc/passwd', 'https://x.example/#frag', 'not a url', 'http://127.0.0.1.evil.example/']) {
      expect(() => build(`NOTIFY_WEBHOOK_URL='${bad}'`)).toThrow(ConfigError);
    }
  });

  test.each([
    'NOTIFY_EMAIL=-oQ/tmp/x@example.com', 'NOTIFY_EMAIL="Ops <ops@example.com>"', 'NOTIFY_EMAIL=ops@localhost', 'NOTIFY_EMAIL=ops@-bad.example',
    'NOTIFY_EMAIL=a@b.example,not-an-address', 'NOTIFY_GROUPS=bad/group', 'NOTIFY_IGNORE_USERS=Root', 'NOTIFY_IGNORE_USERS=a:b',
    'NOTIFY_TIMEOUT=100ms', 'NOTIFY_TIMEOUT=1h', 'SENDMAIL_PROGRAM=sendmail',
  ])('refuses %s', (line) => {
    expect(() => build(line)).toThrow(ConfigError);
  });
});

describe('sync state with IAM groups', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'iam-ssh-state-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (o: unknown) => writeFileSync(join(dir, 'users.json'), JSON.stringify(o));
  const base = { version: 1, writtenAt: '2026-01-01T00:00:00Z', scope: 's' };
  const grace = { iamName: 'Grace', localName: 'grace', uid: 200001, iamUserId: 'AIDA1' };

  test('an older file without groups still reads', () => {
    write({ ...base, users: [grace] });
    expect(readSyncState(dir)).toEqual({ ...base, users: [grace] });
  });

  test('groups per user and the groups read are kept', () => {
    write({ ...base, users: [{ ...grace, groups: ['break-glass'] }], groupsRead: ['break-glass', 'ssh-users'] });
    expect(readSyncState(dir)).toEqual({ ...base, users: [{ ...grace, groups: ['break-glass'] }], groupsRead: ['break-glass', 'ssh-users'] });
  });

  test.each([
    [{ users: [{ ...grace, groups: 'break-glass' }] }],
    [{ users: [{ ...grace, groups: ['bad group'] }] }],
    [{ users: [{ ...grace, groups: [1] }] }],
    [{ users: [grace], groupsRead: [null] }],
    [{ users: [grace], groupsRead: 'x' }],
  ])('a malformed groups field makes the whole file untrusted: %j', (o) => {
    write({ ...base, ...o });
    expect(readSyncState(dir)).toBeNull();
  });
});
