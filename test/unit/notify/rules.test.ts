import { decideNotify, type MemberRecord, type NotifySettings } from '../../../src/notify/rules';

const record: MemberRecord = {
  users: [
    { localName: 'grace', iamName: 'Grace', groups: ['break-glass', 'ssh-users'] },
    { localName: 'linus', iamName: 'Linus', groups: ['ssh-users'] },
    { localName: 'old', iamName: 'Old' }, // written by a sync before groups were recorded
  ],
  groupsRead: ['break-glass', 'ssh-users'],
};
const breakGlass: NotifySettings = { groups: ['break-glass'], ignoreUsers: ['deploy'] };

describe('decideNotify', () => {
  test('a member of a notify group is reported with the IAM user', () => {
    expect(decideNotify('open_session', 'grace', breakGlass, record)).toEqual({ notify: true, iamUser: 'Grace', reason: 'member of break-glass' });
  });

  test('a managed user outside the notify groups is not reported', () => {
    expect(decideNotify('open_session', 'linus', breakGlass, record)).toEqual({ notify: false, reason: 'not a member of NOTIFY_GROUPS' });
  });

  test('##ALL## reports every managed user, and only managed users', () => {
    const all: NotifySettings = { groups: 'all', ignoreUsers: [] };
    expect(decideNotify('open_session', 'linus', all, record)).toMatchObject({ notify: true, iamUser: 'Linus' });
    expect(decideNotify('open_session', 'ec2-user', all, record)).toEqual({ notify: false, reason: 'not a user managed by sync' });
  });

  test('the ignore list wins over membership', () => {
    const s: NotifySettings = { groups: 'all', ignoreUsers: ['grace'] };
    expect(decideNotify('open_session', 'grace', s, record)).toEqual({ notify: false, reason: 'user is in NOTIFY_IGNORE_USERS' });
  });

  test.each(['close_session', 'auth', 'account', 'open_session ', '', undefined])('PAM_TYPE %p is not reported', (type) => {
    expect(decideNotify(type, 'grace', breakGlass, record).notify).toBe(false);
  });

  test("an account adopted from aws-ec2-ssh is reported under the name it kept (case and all)", () => {
    const adopted: MemberRecord = { ...record, users: [...record.users, { localName: 'Grace.Hopper', iamName: 'Grace.Hopper', groups: ['break-glass'] }] };
    expect(decideNotify('open_session', 'Grace.Hopper', breakGlass, adopted)).toEqual({ notify: true, iamUser: 'Grace.Hopper', reason: 'member of break-glass' });
    expect(decideNotify('open_session', 'Grace', breakGlass, record)).toEqual({ notify: false, reason: 'not a user managed by sync' });
  });

  test('an empty NOTIFY_GROUPS turns the feature off', () => {
    expect(decideNotify('open_session', 'grace', { groups: [], ignoreUsers: [] }, record)).toEqual({ notify: false, reason: 'NOTIFY_GROUPS is empty' });
  });

  test.each([undefined, '', 'Gr ace', '.Grace', '1234', 'root;rm', '../etc', 'a\nb', '-x', 'x'.repeat(40)])('hostile or invalid PAM_USER %p is not looked up', (user) => {
    expect(decideNotify('open_session', user, breakGlass, record)).toEqual({ notify: false, reason: 'PAM_USER is not a valid local name' });
  });

  test('unknown membership is reported, not silently dropped', () => {
    expect(decideNotify('open_session', 'grace', breakGlass, null)).toMatchObject({ notify: true, iamUser: null });
    expect(decideNotify('open_session', 'old', breakGlass, record)).toMatchObject({ notify: true, iamUser: 'Old' });
    // A notify group that the last sync did not read yet (NOTIFY_GROUPS just changed).
    const newer: NotifySettings = { groups: ['auditors'], ignoreUsers: [] };
    expect(decideNotify('open_session', 'linus', newer, record)).toEqual({ notify: true, iamUser: 'Linus', reason: 'membership of auditors not recorded yet' });
  });
});
