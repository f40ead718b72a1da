/**
 * resolveConfig's choice between a fresh remote read, the last good one and refusing. The
 * network readers are stand-ins here; test/integration/remote-config.test.ts runs the real ones.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, resolveForReport, RemoteConfigError, type RemoteReaders } from '../../../src/config/resolve';
import { ConfigError } from '../../../src/config/parse';
import { remoteConfigPath } from '../../../src/state/remote-config';
import type { SsmParameter } from '../../../src/config/layers';
import type { Logger } from '../../../src/util/log';

let dir: string;
let lines: { event: string; fields: Record<string, unknown> }[];
const log: Logger = { log: (_level, event, fields = {}) => void lines.push({ event, fields }) };
const PATH = '/iam-ssh/prod/';

class Readers implements RemoteReaders {
  params: SsmParameter[] = [{ name: `${PATH}IAM_AUTHORIZED_GROUPS`, value: 'from-ssm', type: 'String' }];
  tags: Record<string, string | null> = { SshGroups: 'from-tag' };
  ssmError: Error | null = null;
  tagsError: Error | null = null;
  calls = 0;
  async ssmParameters() {
    this.calls++;
    if (this.ssmError) throw this.ssmError;
    return this.params;
  }
  async instanceTags(_c: unknown, keys: string[]) {
    this.calls++;
    if (this.tagsError) throw this.tagsError;
    return Object.fromEntries(keys.map((k) => [k, this.tags[k] ?? null]));
  }
}

function configFile(extra = ''): string {
  const file = join(dir, 'iam-ssh.conf');
  writeFileSync(file, `IAM_AUTHORIZED_GROUPS=from-file\nSTATE_DIR=${join(dir, 'state')}\nSSM_CONFIG_PATH=${PATH}\n${extra}`);
  return file;
}
/** A sudoers file of the test's own, so that the host's is never read. */
const sudoersFile = (text = '') => {
  const f = join(dir, 'sudoers');
  writeFileSync(f, text);
  return f;
};
const fetch = (file: string, readers: RemoteReaders, save = true) => resolveConfig({ file, remote: 'fetch', log, deps: { readers, save, sudoersFile: sudoersFile() } });
const cached = (file: string) => resolveConfig({ file, remote: 'cached', log });
const snapshotFile = () => remoteConfigPath(join(dir, 'state'));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'iam-ssh-resolve-'));
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('without remote keys nothing is read and nothing is written', async () => {
  const file = join(dir, 'plain.conf');
  writeFileSync(file, `IAM_AUTHORIZED_GROUPS=a\nSTATE_DIR=${join(dir, 'state')}\n`);
  const readers = new Readers();
  const r = await fetch(file, readers);
  expect(r.config.authorizedGroups).toEqual(['a']);
  expect(r.remote).toEqual({ ssm: 'none', tags: 'none' });
  expect(readers.calls).toBe(0);
  expect(existsSync(snapshotFile())).toBe(false);
});

test('a fetch layers SSM and tags over the file and keeps them as the last good result', async () => {
  const file = configFile('IAM_AUTHORIZED_GROUPS_TAG=SshGroups\n');
  const r = await fetch(file, new Readers());
  expect(r.config.authorizedGroups).toEqual(['from-tag']);
  expect(r.remote).toEqual({ ssm: 'fetched', tags: 'fetched' });
  const st = statSync(snapshotFile());
  expect(st.mode & 0o777).toBe(0o644);
  expect(JSON.parse(readFileSync(snapshotFile(), 'utf8'))).toMatchObject({ version: 1, ssm: { path: PATH }, tags: { values: { SshGroups: 'from-tag' } } });
  // The login path then builds the same Config from disk alone.
  const c = await cached(file);
  expect(c.config).toEqual(r.config);
  expect(c.remote).toEqual({ ssm: 'cached', tags: 'cached' });
});

test('a failed SSM read falls back to the last good result, with a warning', async () => {
  const file = configFile();
  const readers = new Readers();
  await fetch(file, readers);
  readers.params = [{ name: `${PATH}IAM_AUTHORIZED_GROUPS`, value: 'newer', type: 'String' }];
  readers.ssmError = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
  const before = readFileSync(snapshotFile(), 'utf8');
  const r = await fetch(file, readers);
  expect(r.config.authorizedGroups).toEqual(['from-ssm']);
  expect(r.remote.ssm).toBe('stale');
  expect(lines.find((l) => l.event === 'config.remote_stale')?.fields).toMatchObject({ source: `ssm:${PATH}`, error: 'ThrottlingException: Rate exceeded' });
  expect(readFileSync(snapshotFile(), 'utf8')).toBe(before); // the old result keeps its time
});

test('a failed read with nothing on disk refuses instead of using the file groups', async () => {
  const readers = new Readers();
  readers.ssmError = new Error('connect ECONNREFUSED');
  await expect(fetch(configFile(), readers)).rejects.toThrow(RemoteConfigError);
  await expect(fetch(configFile(), readers)).rejects.toThrow(/cannot read SSM parameters under \/iam-ssh\/prod\/, and no earlier result is on disk: .*ECONNREFUSED/);
});

test('the last good result of another path is not used', async () => {
  const readers = new Readers();
  await fetch(configFile(), readers);
  readers.ssmError = new Error('down');
  await expect(fetch(configFile(`SSM_CONFIG_PATH=/iam-ssh/staging/\n`), readers)).rejects.toThrow(RemoteConfigError);
  await expect(cached(configFile(`SSM_CONFIG_PATH=/iam-ssh/staging/\n`))).rejects.toThrow(/no settings read from SSM on disk yet/);
});

test('tags not enabled is an error even with an earlier result on disk', async () => {
  const file = configFile('IAM_AUTHORIZED_GROUPS_TAG=SshGroups\n');
  const readers = new Readers();
  await fetch(file, readers);
  readers.tagsError = Object.assign(new Error('instance metadata tags are not enabled: ...'), { name: 'TagsNotEnabledError' });
  await expect(fetch(file, readers)).rejects.toThrow(/instance metadata tags are not enabled/);
  // An unreachable metadata service is an outage: the last good tags are used.
  readers.tagsError = new Error('no answer within 1000 ms');
  expect((await fetch(file, readers)).remote.tags).toBe('stale');
});

test('tags read for other keys do not stand in for a newly named tag', async () => {
  const readers = new Readers();
  await fetch(configFile('IAM_AUTHORIZED_GROUPS_TAG=SshGroups\n'), readers);
  await expect(cached(configFile('IAM_AUTHORIZED_GROUPS_TAG=SshGroups\nSUDOERS_GROUPS_TAG=SshSudo\n'))).rejects.toThrow(/instance tags SshGroups, SshSudo: not read yet/);
});

test('a dry run does not write, and an invalid remote value is never kept', async () => {
  const file = configFile();
  const readers = new Readers();
  await fetch(file, readers, false);
  expect(existsSync(snapshotFile())).toBe(false);
  readers.params = [{ name: `${PATH}IAM_AUTHORIZED_GROUPS`, value: 'bad group', type: 'String' }];
  await expect(fetch(file, readers)).rejects.toThrow(ConfigError);
  await expect(fetch(file, readers)).rejects.toThrow(/^ssm:\/iam-ssh\/prod\/IAM_AUTHORIZED_GROUPS: /);
  expect(existsSync(snapshotFile())).toBe(false);
});

test('the login path refuses without a last good result, and ignores one others can write', async () => {
  const file = configFile();
  await expect(cached(file)).rejects.toThrow(RemoteConfigError);
  await fetch(file, new Readers());
  chmodSync(snapshotFile(), 0o666);
  await expect(cached(file)).rejects.toThrow(RemoteConfigError);
  expect(lines.find((l) => l.event === 'config.remote_cache_ignored')?.fields.problem).toMatch(/writable by others/);
  chmodSync(snapshotFile(), 0o644);
  writeFileSync(snapshotFile(), '{"version":1,"ssm":{"path":"/iam-ssh/prod/","fetchedAt":"x","parameters":[{"name":1}]},"tags":null}');
  await expect(cached(file)).rejects.toThrow(RemoteConfigError);
  expect(lines.some((l) => l.fields.problem === `${snapshotFile()} is malformed`)).toBe(true);
});

describe("sync refuses groups the host's sudoers grants, unless the file allows them", () => {
  const withSudoers = (file: string, text: string) => resolveConfig({ file, remote: 'fetch', log, deps: { readers: new Readers(), save: false, sudoersFile: sudoersFile(text) } });

  test.each(['', `SSM_CONFIG_PATH=${PATH}\n`])('a %%ops rule makes ops privileged for LOCAL_GROUPS and GROUP_MAP (%j)', async (remote) => {
    const file = join(dir, 'host.conf');
    const sudoers = '%ops ALL=(ALL) NOPASSWD: ALL\n';
    writeFileSync(file, `STATE_DIR=${join(dir, 'state')}\n${remote}LOCAL_GROUPS=users,ops\n`);
    await expect(withSudoers(file, sudoers)).rejects.toThrow(`${file}:${remote ? 3 : 2}: LOCAL_GROUPS: ops is a privileged group (a %ops rule in ${join(dir, 'sudoers')})`);
    writeFileSync(file, `STATE_DIR=${join(dir, 'state')}\n${remote}GROUP_MAP=devs=ops\n`);
    await expect(withSudoers(file, sudoers)).rejects.toThrow(ConfigError);
    writeFileSync(file, `STATE_DIR=${join(dir, 'state')}\n${remote}GROUP_MAP=devs=ops\nALLOW_PRIVILEGED_GROUPS=ops\n`);
    expect((await withSudoers(file, sudoers)).config.groupMap).toEqual({ devs: ['ops'] });
  });

  test('keys (cached) never reads sudoers: it does not need to, and cannot as its own user', async () => {
    const file = join(dir, 'host.conf');
    writeFileSync(file, `STATE_DIR=${join(dir, 'state')}\nLOCAL_GROUPS=ops\n`);
    expect((await resolveConfig({ file, remote: 'cached', log, deps: { sudoersFile: dir } })).config.localGroups).toEqual(['ops']);
  });

  test('an unreadable sudoers is an error, not an empty list', async () => {
    const file = join(dir, 'host.conf');
    writeFileSync(file, `STATE_DIR=${join(dir, 'state')}\nLOCAL_GROUPS=ops\n`);
    await expect(resolveConfig({ file, remote: 'fetch', log, deps: { readers: new Readers(), save: false, sudoersFile: dir } })).rejects.toThrow(new RegExp(`^${dir}: cannot read`));
  });
});

describe('resolveForReport (doctor, notify-login)', () => {
  test('uses the last good remote layers when sync kept them', async () => {
    const file = configFile();
    await fetch(file, new Readers());
    expect((await resolveForReport(file, log)).config.authorizedGroups).toEqual(['from-ssm']);
  });
  test('without them, the file alone and a warning instead of a refusal', async () => {
    const r = await resolveForReport(configFile(), log);
    expect(r.config.authorizedGroups).toEqual(['from-file']);
    expect(r.warnings.at(-1)).toMatch(/using the config file alone/);
  });
  test('a broken file is still an error', async () => {
    await expect(resolveForReport(configFile('KEYS_CACHE_TTL=soon\n'), log)).rejects.toThrow(ConfigError);
  });
});
