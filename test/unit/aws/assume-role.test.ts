import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { roleCredentialsProvider, roleSessionName, REFRESH_BEFORE_MS, type RoleCredentials } from '../../../src/aws/assume-role';
import { ROLE_CREDENTIALS_FILE } from '../../../src/state/paths';
import { defaults } from '../../../src/config/config';

const ROLE = 'arn:aws:iam::111111111111:role/reader';
const T0 = Date.parse('2030-01-01T00:00:00Z');
let dir: string;
let clock: number;
let issued: number;
const config = { ...defaults(), assumeRole: ROLE };
const assume = async (): Promise<RoleCredentials> => {
  issued++;
  return { accessKeyId: `ASIA${issued}`, secretAccessKey: 's', sessionToken: 't', expiration: new Date(clock + 3_600_000) };
};
const provider = () => roleCredentialsProvider(config, dir, { now: () => clock, assume });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'iam-ssh-role-'));
  clock = T0;
  issued = 0;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('credentials are reused across processes until five minutes before they expire', async () => {
  expect((await provider()()).accessKeyId).toBe('ASIA1');
  expect(statSync(join(dir, ROLE_CREDENTIALS_FILE)).mode & 0o777).toBe(0o600);
  clock = T0 + 3_600_000 - REFRESH_BEFORE_MS - 1;
  expect((await provider()()).accessKeyId).toBe('ASIA1'); // a new process, from the file
  clock += 2;
  expect((await provider()()).accessKeyId).toBe('ASIA2');
  expect(issued).toBe(2);
});

test('within one process the provider keeps its credentials in memory', async () => {
  const p = provider();
  await p();
  rmSync(join(dir, ROLE_CREDENTIALS_FILE));
  expect((await p()).accessKeyId).toBe('ASIA1');
  expect(issued).toBe(1);
});

test('a cache for another role or endpoint, readable by others, or malformed is not used', async () => {
  await provider()();
  const file = join(dir, ROLE_CREDENTIALS_FILE);
  const good = readFileSync(file, 'utf8');
  const variants: [string, number][] = [
    [good.replace(ROLE, 'arn:aws:iam::222222222222:role/reader'), 0o600],
    [good.replace('"endpoint":""', '"endpoint":"http://127.0.0.1:1"'), 0o600],
    [good, 0o640],
    ['{"roleArn":', 0o600],
  ];
  for (const [text, mode] of variants) {
    writeFileSync(file, text);
    chmodSync(file, mode);
    const before = issued;
    await provider()();
    expect(issued).toBe(before + 1);
  }
});

test('an unwritable cache directory only costs another AssumeRole', async () => {
  const p = roleCredentialsProvider(config, join(dir, 'file-not-dir', 'x'), { now: () => clock, assume });
  writeFileSync(join(dir, 'file-not-dir'), '');
  expect((await p()).accessKeyId).toBe('ASIA1');
});

test('session names are what STS accepts', () => {
  expect(roleSessionName('ip-10-0-0-1.ec2.internal')).toBe('iam-ssh-ip-10-0-0-1.ec2.internal');
  expect(roleSessionName('a b/c;d')).toBe('iam-ssh-a-b-c-d');
  expect(roleSessionName('x'.repeat(100))).toHaveLength(64);
});
