import { formatKeyFile, parseKeyFile, planKeyFiles, authorizedKeysFilePattern, type KeyFileUser } from '../../../src/keys/file-mode';
import { parsePublicKey } from '../../../src/util/ssh-key';
import type { CachedKey } from '../../../src/keys/cache-entry';
import { generateSshKey } from '../../helpers/ssh-wire';

function cached(id: string, comment: string): CachedKey {
  const parsed = parsePublicKey(generateSshKey('ed25519', comment).line);
  if (!parsed.ok) throw new Error(parsed.reason);
  return { id, line: parsed.key.line, fingerprint: parsed.key.fingerprint };
}

const k1 = cached('APKAONE', 'one@test');
const k2 = cached('APKATWO', 'two@test');
const alice = (keys: CachedKey[] | null): KeyFileUser => ({ localName: 'alice', iamName: 'Alice', keys });

describe('the key file format', () => {
  test('holds each key line after a comment naming its IAM key id, and reads back to the same keys', () => {
    const text = formatKeyFile('Alice', [k1, k2]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^# Keys of IAM user Alice/);
    expect(lines).toContain(`# key APKAONE ${k1.fingerprint}`);
    expect(lines.filter((l) => !l.startsWith('#') && l !== '')).toEqual([k1.line, k2.line]);
    expect(parseKeyFile(text)).toEqual([k1, k2]);
  });

  test('a user with no Active key gets a file with no key line', () => {
    const text = formatKeyFile('Alice', []);
    expect(text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual([]);
    expect(parseKeyFile(text)).toEqual([]);
  });

  test('reading back ignores edited, optioned, unlabelled or garbage lines', () => {
    const text = [
      `# key APKAONE ${k1.fingerprint}`, `command="/bin/sh" ${k1.line}`,
      `# key APKATWO ${k2.fingerprint}`, k2.line,
      k1.line,
      `# key lower ${k1.fingerprint}`, k1.line,
      `# key APKATHREE ${k1.fingerprint}`, 'ssh-ed25519 not-base64!!',
      `# key APKAFOUR ${k1.fingerprint}`,
    ].join('\n');
    expect(parseKeyFile(text)).toEqual([k2]);
    expect(parseKeyFile('')).toEqual([]);
    expect(parseKeyFile('\0\0\n# key X\n')).toEqual([]);
  });

  test('the sshd_config pattern', () => {
    expect(authorizedKeysFilePattern('/etc/ssh/iam-ssh/authorized_keys')).toBe('/etc/ssh/iam-ssh/authorized_keys/%u');
    expect(authorizedKeysFilePattern('/srv/keys/')).toBe('/srv/keys/%u');
  });
});

describe('planKeyFiles', () => {
  const none = new Map<string, string>();

  test('writes a file per managed user, and nothing when the file is already right', () => {
    const first = planKeyFiles({ users: [alice([k1])], existing: none, managed: new Set(['alice']), complete: true });
    expect(first).toEqual({ write: [{ user: 'alice', content: formatKeyFile('Alice', [k1]) }], remove: [], kept: [] });
    const again = planKeyFiles({ users: [alice([k1])], existing: new Map([['alice', formatKeyFile('Alice', [k1])]]), managed: new Set(['alice']), complete: true });
    expect(again).toEqual({ write: [], remove: [], kept: [] });
  });

  test('a changed key set rewrites the file; a revoked key disappears from it', () => {
    const existing = new Map([['alice', formatKeyFile('Alice', [k1, k2])]]);
    const p = planKeyFiles({ users: [alice([k2])], existing, managed: new Set(['alice']), complete: true });
    expect(p.write).toEqual([{ user: 'alice', content: formatKeyFile('Alice', [k2]) }]);
    expect(p.write[0]!.content).not.toContain(k1.line);
  });

  test('a failed key read keeps the existing file: throttling never blanks anyone', () => {
    const existing = new Map([['alice', formatKeyFile('Alice', [k1])]]);
    const p = planKeyFiles({ users: [alice(null)], existing, managed: new Set(['alice']), complete: true });
    expect(p).toEqual({ write: [], remove: [], kept: ['alice'] });
    expect(planKeyFiles({ users: [alice(null)], existing: none, managed: new Set(['alice']), complete: true })).toEqual({ write: [], remove: [], kept: [] });
  });

  test('removes the files of users no longer managed, only ours, only after a complete read', () => {
    const existing = new Map([
      ['alice', formatKeyFile('Alice', [k1])],
      ['bob', formatKeyFile('Bob', [k2])],
      ['operator', 'ssh-ed25519 AAAA planted by hand\n'],
      ['root', 'anything'],
    ]);
    const managed = new Set(['alice', 'bob']);
    expect(planKeyFiles({ users: [alice([k1])], existing, managed, complete: true }).remove).toEqual(['bob']);
    expect(planKeyFiles({ users: [alice([k1])], existing, managed, complete: false }).remove).toEqual([]);
    // Nobody left: every managed file goes, the others stay.
    expect(planKeyFiles({ users: [], existing, managed, complete: true }).remove).toEqual(['alice', 'bob']);
  });

  test("the name aws-ec2-ssh gave an adopted account (Alice.Smith) gets its file, and loses it like any other", () => {
    const smith = { localName: 'Alice.Smith', iamName: 'Alice.Smith', keys: [k1] };
    expect(planKeyFiles({ users: [smith], existing: none, managed: new Set(['Alice.Smith']), complete: true }).write).toEqual([{ user: 'Alice.Smith', content: formatKeyFile('Alice.Smith', [k1]) }]);
    const existing = new Map([['Alice.Smith', formatKeyFile('Alice.Smith', [k1])]]);
    expect(planKeyFiles({ users: [], existing, managed: new Set(['Alice.Smith']), complete: true }).remove).toEqual(['Alice.Smith']);
  });

  test('hostile names are neither written nor removed', () => {
    const hostile = ['../etc/passwd', 'a/b', '.', '..', '-Alice', '.Alice', '1234', 'Root', 'x y', 'a\nb', ''];
    const existing = new Map(hostile.map((n) => [n, 'x']));
    const p = planKeyFiles({
      users: hostile.map((localName) => ({ localName, iamName: 'Alice', keys: [k1] })), existing, managed: new Set(hostile), complete: true,
    });
    expect(p).toEqual({ write: [], remove: [], kept: [] });
  });
});
