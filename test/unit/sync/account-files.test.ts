/**
 * The account files and what a killed groupadd, useradd or userdel leaves in them. Each fixture
 * is the state a kill between two of the tool's file commits (passwd, shadow, group, gshadow,
 * then the home) leaves, as seen on Debian's shadow-utils 4.13.
 */
import {
  leftoverPrivateGroup, leftoversOf, membershipsOf, onlyPrivateGroupLeft, parseAccountFiles, unfinishedParts, type HomeFacts,
} from '../../../src/sync/account-files';

const BASE = {
  passwd: 'root:x:0:0:root:/root:/bin/bash\nann:x:3000:3000:IAM user Ann:/home/ann:/bin/bash\n',
  group: 'root:x:0:\nusers:x:100:ann\niam-synced-users:x:995:ann\nann:x:3000:\n',
  shadow: 'root:*:19000:0:99999:7:::\nann:*:20000:0:99999:7:::\n',
  gshadow: 'root:*::\nusers:*::ann\niam-synced-users:!::ann\nann:!::\n',
};
const files = (o: Partial<typeof BASE> = {}) => parseAccountFiles({ ...BASE, ...o });
const HOME: HomeFacts = { copy: 'whole' };

describe('parseAccountFiles', () => {
  test('reads the fields sync needs; skips comments, blank and malformed lines', () => {
    const f = parseAccountFiles({
      passwd: '# c\n\nann:x:3000:3000::/home/ann:/bin/sh\nbad:x:notanumber:1::/:/bin/sh\n:x:1:1::/:/\n',
      group: 'g:x:10:a,b,,c\nh:x:x:\n',
      shadow: null,
      gshadow: 'g:!:adm:a\n',
    });
    expect(f.passwd).toEqual([{ name: 'ann', uid: 3000, gid: 3000, home: '/home/ann' }]);
    expect(f.group).toEqual([{ name: 'g', gid: 10, members: ['a', 'b', 'c'] }]);
    expect(f.shadow).toBeNull();
    expect(f.gshadow).toEqual([{ name: 'g', admins: ['adm'], members: ['a'] }]);
  });
});

describe('unfinishedParts: an account a killed useradd left', () => {
  test('a complete account has nothing unfinished', () => {
    expect(unfinishedParts('ann', files(), true, HOME, true)).toEqual([]);
  });

  test('killed after passwd: no shadow entry, no memberships yet, no home', () => {
    const f = files({ shadow: 'root:*:19000:0:99999:7:::\n', group: 'root:x:0:\nusers:x:100:\nann:x:3000:\n', gshadow: 'root:*::\nusers:*::\nann:!::\n' });
    expect(unfinishedParts('ann', f, true, null, true)).toEqual(['no shadow entry', 'no home /home/ann']);
  });

  test('killed after group, before gshadow: memberships only half written', () => {
    const f = files({ gshadow: 'root:*::\nusers:*::\niam-synced-users:!::\nann:!::\n' });
    expect(unfinishedParts('ann', f, true, HOME, true)).toEqual([
      'member of users in group but not in gshadow', 'member of iam-synced-users in group but not in gshadow',
    ]);
  });

  test('groupadd killed before its gshadow commit, and a primary group that is missing', () => {
    expect(unfinishedParts('ann', files({ gshadow: 'users:*::ann\niam-synced-users:!::ann\n' }), true, HOME, true)).toEqual(['no gshadow entry for group ann']);
    expect(unfinishedParts('ann', files(), false, HOME, true)).toEqual(['no group 3000']);
  });

  test('killed making the home: an unfinished copy of the skeleton is unfinished; a home with anything else is not judged', () => {
    expect(unfinishedParts('ann', files(), true, { copy: 'unfinished' }, true)).toEqual(['home /home/ann is an unfinished copy of the skeleton']);
    expect(unfinishedParts('ann', files(), true, { copy: 'other' }, true)).toEqual([]);
    expect(unfinishedParts('ann', files(), true, { copy: 'whole' }, true)).toEqual([]);
  });

  test('the home is not checked when useradd does not make homes, or login.defs decides', () => {
    expect(unfinishedParts('ann', files(), true, null, false)).toEqual([]);
    expect(unfinishedParts('ann', files(), true, null, null)).toEqual([]);
  });

  test('hosts without shadow or gshadow files are not held to them', () => {
    const f = parseAccountFiles({ passwd: BASE.passwd, group: BASE.group, shadow: null, gshadow: null });
    expect(unfinishedParts('ann', f, true, HOME, true)).toEqual([]);
  });

  test('no passwd entry at all', () => {
    expect(unfinishedParts('zed', files(), false, null, true)).toEqual(['no passwd entry']);
  });
});

describe('leftoversOf: what is left of an account that no longer exists', () => {
  const gone = (o: Partial<typeof BASE> = {}) => files({ passwd: 'root:x:0:0:root:/root:/bin/bash\n', ...o });

  test('userdel killed after passwd: shadow entry, memberships, private group', () => {
    expect(leftoversOf('ann', 3000, gone())).toEqual(['shadow entry', 'member of iam-synced-users', 'member of users', 'group ann']);
  });

  test('userdel killed after group, before gshadow: only gshadow keeps the name', () => {
    const f = gone({ shadow: 'root:*:1:0:99999:7:::\n', group: 'root:x:0:\nusers:x:100:\niam-synced-users:x:995:\n' });
    expect(leftoversOf('ann', 3000, f)).toEqual(['member of iam-synced-users', 'member of users', 'gshadow entry ann']);
  });

  test('groupadd done, useradd never ran: only the private group, which groupdel removes', () => {
    const f = gone({ shadow: '', group: 'ann:x:3000:\n', gshadow: 'ann:!::\n' });
    const found = leftoversOf('ann', 3000, f);
    expect(found).toEqual(['group ann']);
    expect(onlyPrivateGroupLeft(found, 'ann')).toBe(true);
    expect(onlyPrivateGroupLeft(['group ann', 'shadow entry'], 'ann')).toBe(false);
  });

  test('nothing left', () => {
    expect(leftoversOf('ann', 3000, gone({ shadow: '', group: 'users:x:100:\n', gshadow: 'users:*::\n' }))).toEqual([]);
  });

  test('a group of that name that is not the account\'s own is never counted as a leftover', () => {
    expect(leftoversOf('ann', 3000, gone({ shadow: '', group: 'ann:x:4000:\n', gshadow: 'ann:!::\n' }))).toEqual([]);
    expect(leftoversOf('ann', 3000, gone({ shadow: '', group: 'ann:x:3000:bob\n', gshadow: 'ann:!::bob\n' }))).toEqual([]);
    expect(leftoversOf('ann', null, gone({ shadow: '', group: 'ann:x:3000:\n', gshadow: 'ann:!::\n' }))).toEqual([]);
  });
});

describe('leftoverPrivateGroup', () => {
  const group = [{ name: 'ann', gid: 3000, members: [] }];
  test('the registered account\'s own group, left without it', () => {
    expect(leftoverPrivateGroup('ann', 3000, { passwd: [], group })).toEqual(group[0]);
  });
  test.each([
    ['the account exists', [{ name: 'ann', uid: 3000, gid: 3000, home: '' }], group, 3000],
    ['another account has it as primary group', [{ name: 'bob', uid: 5, gid: 3000, home: '' }], group, 3000],
    ['another GID', [], group, 3001],
    ['no registered UID', [], group, null],
    ['it has members', [], [{ name: 'ann', gid: 3000, members: ['bob'] }], 3000],
    ['no such group', [], [], 3000],
  ])('not when %s', (_why, passwd, g, uid) => {
    expect(leftoverPrivateGroup('ann', uid, { passwd, group: g })).toBeNull();
  });
});

test('membershipsOf: the groups that list the account in the group file', () => {
  expect(membershipsOf('ann', files())).toEqual(['users', 'iam-synced-users']);
  expect(membershipsOf('zed', files())).toEqual([]);
});
