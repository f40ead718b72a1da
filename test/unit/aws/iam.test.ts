/**
 * iamDirectory against the real SDK command classes and a fake client: the emulator used by
 * the integration tests does not paginate, so the Marker loop is exercised here.
 */
import * as sdk from '@aws-sdk/client-iam';
import { iamDirectory, type IamSender } from '../../../src/aws/iam';

interface Sent {
  name: string;
  input: Record<string, unknown>;
  options: unknown;
}

/** The operation a command object is for, told by its class. */
function operation(command: unknown): string {
  if (command instanceof sdk.GetGroupCommand) return 'GetGroup';
  if (command instanceof sdk.ListUsersCommand) return 'ListUsers';
  if (command instanceof sdk.ListSSHPublicKeysCommand) return 'ListSSHPublicKeys';
  if (command instanceof sdk.GetSSHPublicKeyCommand) return 'GetSSHPublicKey';
  throw new Error('unexpected command');
}

/** A client whose answers come from `reply`; records every command it was sent. */
function fakeClient(reply: (command: { input: Record<string, unknown> }, name: string) => unknown) {
  const sent: Sent[] = [];
  const client = {
    send: async (command: { input: Record<string, unknown> }, options?: unknown) => {
      const name = operation(command);
      sent.push({ name, input: { ...command.input }, options });
      return reply(command, name);
    },
  };
  return { client: client as unknown as IamSender, sent };
}

const user = (n: string) => ({ UserName: n, UserId: `AIDA${n.toUpperCase()}`, Path: '/', Arn: `arn:aws:iam::123456789012:user/${n}`, CreateDate: new Date(0) });

/** GetGroup pages keyed by the Marker that asks for them. */
const GROUP_PAGES: Record<string, { Users: ReturnType<typeof user>[]; IsTruncated: boolean; Marker?: string }> = {
  '': { Users: [user('alice'), user('bob')], IsTruncated: true, Marker: 'm1' },
  m1: { Users: [user('carol')], IsTruncated: true, Marker: 'm2' },
  m2: { Users: [user('dave'), user('erin')], IsTruncated: false },
};

describe('listGroupMembers', () => {
  test('reads three pages, in order, sending the Marker of each previous page', async () => {
    const { client, sent } = fakeClient((c) => {
      expect(c).toBeInstanceOf(sdk.GetGroupCommand);
      const page = GROUP_PAGES[(c.input.Marker as string | undefined) ?? ''];
      if (!page) throw new Error(`unexpected marker ${String(c.input.Marker)}`);
      return { Group: { GroupName: 'admins' }, ...page };
    });
    const dir = iamDirectory(sdk, client);
    const users = await dir.listGroupMembers('admins');
    expect(users).toEqual(['alice', 'bob', 'carol', 'dave', 'erin'].map((n) => ({ userName: n, userId: `AIDA${n.toUpperCase()}` })));
    expect(sent.map((s) => [s.name, s.input.GroupName, s.input.Marker])).toEqual([
      ['GetGroup', 'admins', undefined],
      ['GetGroup', 'admins', 'm1'],
      ['GetGroup', 'admins', 'm2'],
    ]);
    expect(dir.calls).toEqual({ GetGroup: 3 });
  });

  test('a single page that is not truncated is one call', async () => {
    const { client } = fakeClient(() => ({ Group: { GroupName: 'g' }, Users: [user('alice')], IsTruncated: false }));
    const dir = iamDirectory(sdk, client);
    expect(await dir.listGroupMembers('g')).toEqual([{ userName: 'alice', userId: 'AIDAALICE' }]);
    expect(dir.calls.GetGroup).toBe(1);
  });

  test('a group with no members: Group present and Users an empty list', async () => {
    const { client } = fakeClient(() => ({ Group: { GroupName: 'g' }, Users: [], IsTruncated: false }));
    expect(await iamDirectory(sdk, client).listGroupMembers('g')).toEqual([]);
  });

  // An HTTP 200 that lacks what every complete answer has is an error, never an empty group.
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['an empty answer', {}, /GetGroup: page 1 .*no Group element/],
    ['no Users element', { Group: { GroupName: 'g' }, IsTruncated: false }, /GetGroup: page 1 .*no Users element/],
    ['Users that is not a list', { Group: { GroupName: 'g' }, Users: 'x', IsTruncated: false }, /no Users element/],
    ['no Group element', { Users: [user('alice')], IsTruncated: false }, /no Group element/],
    ['Group without GroupName', { Group: {}, Users: [], IsTruncated: false }, /for group g names another group/],
    ['the Group of another group', { Group: { GroupName: 'other' }, Users: [], IsTruncated: false }, /for group g names another group \(other\)/],
  ])('%s throws', async (_w, answer, message) => {
    const { client } = fakeClient(() => answer);
    await expect(iamDirectory(sdk, client).listGroupMembers('g')).rejects.toThrow(message);
  });

  test('the GroupName of the answer may differ in case (IAM group names are case-insensitive)', async () => {
    const { client } = fakeClient(() => ({ Group: { GroupName: 'Admins' }, Users: [user('alice')], IsTruncated: false }));
    expect(await iamDirectory(sdk, client).listGroupMembers('admins')).toHaveLength(1);
  });

  test.each(['Users', 'Group'])('a later page without %s throws: the pages read so far are not a group', async (element) => {
    const { client, sent } = fakeClient((c) => {
      const page = { Group: { GroupName: 'admins' }, ...GROUP_PAGES[(c.input.Marker as string | undefined) ?? ''] } as Record<string, unknown>;
      if (c.input.Marker === 'm2') delete page[element];
      return page;
    });
    await expect(iamDirectory(sdk, client).listGroupMembers('admins')).rejects.toThrow(new RegExp(`GetGroup: page 3 .*no ${element} element`));
    expect(sent).toHaveLength(3);
  });

  test('IsTruncated true without a Marker throws', async () => {
    const { client, sent } = fakeClient(() => ({ Group: { GroupName: 'g' }, Users: [user('alice')], IsTruncated: true }));
    await expect(iamDirectory(sdk, client).listGroupMembers('g')).rejects.toThrow('GetGroup: truncated page without a new Marker');
    expect(sent).toHaveLength(1);
  });

  test('a Marker that repeats the previous one throws instead of looping', async () => {
    const { client, sent } = fakeClient(() => ({ Group: { GroupName: 'g' }, Users: [], IsTruncated: true, Marker: 'same' }));
    await expect(iamDirectory(sdk, client).listGroupMembers('g')).rejects.toThrow(/truncated page without a new Marker/);
    expect(sent.map((s) => s.input.Marker)).toEqual([undefined, 'same']);
  });

  test('a user without UserName or UserId throws', async () => {
    const { client } = fakeClient(() => ({ Group: { GroupName: 'g' }, Users: [{ UserName: 'alice' }], IsTruncated: false }));
    await expect(iamDirectory(sdk, client).listGroupMembers('g')).rejects.toThrow(/without UserName\/UserId/);
  });

  test('a client error propagates unchanged, and the call is still counted', async () => {
    const err = Object.assign(new Error('The group with name admins cannot be found.'), { name: 'NoSuchEntityException' });
    const { client } = fakeClient(() => Promise.reject(err));
    const dir = iamDirectory(sdk, client);
    await expect(dir.listGroupMembers('admins')).rejects.toBe(err);
    expect(dir.calls.GetGroup).toBe(1);
  });

  test('an error on a later page propagates too', async () => {
    const { client, sent } = fakeClient((c) => {
      if (c.input.Marker === 'm1') throw new Error('throttled');
      return { Group: { GroupName: 'g' }, ...GROUP_PAGES[''] };
    });
    await expect(iamDirectory(sdk, client).listGroupMembers('g')).rejects.toThrow('throttled');
    expect(sent).toHaveLength(2);
  });

  test('the abort signal is passed to the client', async () => {
    const { client, sent } = fakeClient(() => ({ Group: { GroupName: 'g' }, Users: [], IsTruncated: false }));
    const ac = new AbortController();
    await iamDirectory(sdk, client).listGroupMembers('g', ac.signal);
    expect(sent[0]!.options).toEqual({ abortSignal: ac.signal });
  });
});

describe('listActiveKeyIds', () => {
  const KEY_PAGES: Record<string, unknown> = {
    '': {
      SSHPublicKeys: [
        { UserName: 'alice', SSHPublicKeyId: 'APKA1', Status: 'Active', UploadDate: new Date(0) },
        { UserName: 'alice', SSHPublicKeyId: 'APKA2', Status: 'Inactive', UploadDate: new Date(0) },
        { UserName: 'alice', SSHPublicKeyId: 'APKA3', Status: 'Active', UploadDate: new Date(0) },
      ],
      IsTruncated: true,
      Marker: 'k1',
    },
    k1: {
      SSHPublicKeys: [
        { UserName: 'alice', SSHPublicKeyId: 'APKA4', Status: 'Inactive', UploadDate: new Date(0) },
        { UserName: 'alice', SSHPublicKeyId: 'APKA5', Status: 'Active', UploadDate: new Date(0) },
        { UserName: 'alice', Status: 'Active' },
        { UserName: 'alice', SSHPublicKeyId: 'APKA6' },
      ],
      IsTruncated: false,
    },
  };

  test('reads two pages and keeps only Active keys with an id', async () => {
    const { client, sent } = fakeClient((c) => {
      expect(c).toBeInstanceOf(sdk.ListSSHPublicKeysCommand);
      return KEY_PAGES[(c.input.Marker as string | undefined) ?? ''];
    });
    const dir = iamDirectory(sdk, client);
    expect(await dir.listActiveKeyIds('alice')).toEqual(['APKA1', 'APKA3', 'APKA5']);
    expect(sent.map((s) => [s.input.UserName, s.input.Marker])).toEqual([
      ['alice', undefined],
      ['alice', 'k1'],
    ]);
    expect(dir.calls).toEqual({ ListSSHPublicKeys: 2 });
  });

  test('a user without keys: SSHPublicKeys an empty list', async () => {
    const { client } = fakeClient(() => ({ SSHPublicKeys: [], IsTruncated: false }));
    expect(await iamDirectory(sdk, client).listActiveKeyIds('bob')).toEqual([]);
  });

  test.each<[string, Record<string, unknown>]>([
    ['an empty answer', {}],
    ['no SSHPublicKeys element', { IsTruncated: false }],
    ['SSHPublicKeys that is not a list', { SSHPublicKeys: {}, IsTruncated: false }],
  ])('%s throws instead of meaning "no keys"', async (_w, answer) => {
    const { client } = fakeClient(() => answer);
    await expect(iamDirectory(sdk, client).listActiveKeyIds('bob')).rejects.toThrow(/ListSSHPublicKeys: page 1 .*no SSHPublicKeys element/);
  });

  test('a later page without SSHPublicKeys throws', async () => {
    const { client } = fakeClient((c) => (c.input.Marker === 'k1' ? { IsTruncated: false } : KEY_PAGES['']));
    await expect(iamDirectory(sdk, client).listActiveKeyIds('alice')).rejects.toThrow(/ListSSHPublicKeys: page 2 .*no SSHPublicKeys element/);
  });
});

describe('listUsers and getKey', () => {
  test('listUsers paginates like the others', async () => {
    const { client, sent } = fakeClient((c) => {
      expect(c).toBeInstanceOf(sdk.ListUsersCommand);
      return c.input.Marker === 'u1'
        ? { Users: [user('bob')], IsTruncated: false }
        : { Users: [user('alice')], IsTruncated: true, Marker: 'u1' };
    });
    const dir = iamDirectory(sdk, client);
    expect((await dir.listUsers()).map((u) => u.userName)).toEqual(['alice', 'bob']);
    expect(sent).toHaveLength(2);
    expect(dir.calls).toEqual({ ListUsers: 2 });
  });

  test('listUsers: an account without users is an empty Users list', async () => {
    const { client } = fakeClient(() => ({ Users: [], IsTruncated: false }));
    expect(await iamDirectory(sdk, client).listUsers()).toEqual([]);
  });

  test.each([
    ['page 1', {}, {}],
    ['page 1', { IsTruncated: false }, {}],
    ['page 2', { Users: [user('alice')], IsTruncated: true, Marker: 'u1' }, { IsTruncated: false }],
  ])('listUsers: an answer without Users on %s throws', async (page, first, second) => {
    const { client } = fakeClient((c) => (c.input.Marker === 'u1' ? second : first));
    await expect(iamDirectory(sdk, client).listUsers()).rejects.toThrow(new RegExp(`ListUsers: ${page} .*no Users element`));
  });

  test('getKey asks for SSH encoding and maps the answer', async () => {
    const { client, sent } = fakeClient((c) => {
      expect(c).toBeInstanceOf(sdk.GetSSHPublicKeyCommand);
      return { SSHPublicKey: { UserName: 'alice', SSHPublicKeyId: 'APKA1', Fingerprint: 'x', SSHPublicKeyBody: 'ssh-ed25519 AAAA', Status: 'Active' } };
    });
    const dir = iamDirectory(sdk, client);
    expect(await dir.getKey('alice', 'APKA1')).toEqual({ id: 'APKA1', status: 'Active', body: 'ssh-ed25519 AAAA' });
    expect(sent[0]!.input).toEqual({ UserName: 'alice', SSHPublicKeyId: 'APKA1', Encoding: 'SSH' });
  });

  test('getKey with an empty answer gives empty status and body', async () => {
    const { client } = fakeClient(() => ({}));
    expect(await iamDirectory(sdk, client).getKey('alice', 'APKA9')).toEqual({ id: 'APKA9', status: '', body: '' });
  });

  test('calls counts each operation separately and accumulates', async () => {
    const { client } = fakeClient((c, name) => {
      if (name === 'GetGroup') return { Group: { GroupName: 'admins' }, ...GROUP_PAGES[(c.input.Marker as string | undefined) ?? ''] };
      if (name === 'GetSSHPublicKey') return { SSHPublicKey: { Status: 'Active', SSHPublicKeyBody: 'b' } };
      if (name === 'ListUsers') return { Users: [], IsTruncated: false };
      return { SSHPublicKeys: [], IsTruncated: false };
    });
    const dir = iamDirectory(sdk, client);
    expect(dir.calls).toEqual({});
    await dir.listGroupMembers('admins');
    await dir.listGroupMembers('admins');
    await dir.listActiveKeyIds('alice');
    await dir.getKey('alice', 'APKA1');
    await dir.getKey('alice', 'APKA2');
    await dir.listUsers();
    expect(dir.calls).toEqual({ GetGroup: 6, ListSSHPublicKeys: 1, GetSSHPublicKey: 2, ListUsers: 1 });
  });
});
