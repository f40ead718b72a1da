import { configFromEnvironment } from '../../../src/publish/lambda-config';
import { ConfigError } from '../../../src/config/parse';

/** What the Lambda runtime itself puts in every function's environment. */
const RUNTIME = {
  AWS_REGION: 'eu-west-1',
  AWS_DEFAULT_REGION: 'eu-west-1',
  AWS_LAMBDA_FUNCTION_NAME: 'iam-ssh-publisher',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_SESSION_TOKEN: 'token',
  LAMBDA_TASK_ROOT: '/var/task',
  LAMBDA_RUNTIME_DIR: '/var/runtime',
  _HANDLER: 'index.handler',
  _X_AMZN_TRACE_ID: 'Root=1-5e1b4151-5ac6c58f0f2c4f5f8a9b8c7d',
  TZ: ':UTC',
  LANG: 'en_US.UTF-8',
  PATH: '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin',
  LD_LIBRARY_PATH: '/var/lang/lib',
  NODE_PATH: '/opt/nodejs/node22/node_modules',
  HOME: '/home/sbx_user1051',
};

describe('configFromEnvironment', () => {
  test('the settings are the known keys of the environment; the runtime\'s own variables are ignored', () => {
    const { config } = configFromEnvironment({ ...RUNTIME, IAM_AUTHORIZED_GROUPS: 'ssh-users,admins', SUDOERS_GROUPS: 'admins', MAX_REMOVALS: '25' });
    expect(config.authorizedGroups).toEqual(['ssh-users', 'admins']);
    expect(config.sudoersGroups).toEqual(['admins']);
    expect(config.maxRemovals).toBe(25);
    expect(config.awsRegion).toBe('eu-west-1');
    expect(config.file).toBeNull();
  });

  test('the only writable place of a function is /tmp: state and cache go there unless set', () => {
    const { config } = configFromEnvironment({ ...RUNTIME, IAM_AUTHORIZED_GROUPS: 'ssh-users' });
    expect(config.stateDir).toBe('/tmp/iam-ssh/state');
    expect(config.cacheDir).toBe('/tmp/iam-ssh/cache');
    const set = configFromEnvironment({ ...RUNTIME, IAM_AUTHORIZED_GROUPS: 'ssh-users', STATE_DIR: '/mnt/efs/iam-ssh' }).config;
    expect(set.stateDir).toBe('/mnt/efs/iam-ssh');
  });

  test('a bad value is refused, naming the variable', () => {
    expect(() => configFromEnvironment({ ...RUNTIME, IAM_AUTHORIZED_GROUPS: 'ssh users' })).toThrow(ConfigError);
    expect(() => configFromEnvironment({ ...RUNTIME, MAX_REMOVALS: '-1' })).toThrow(/environment: MAX_REMOVALS/);
    expect(() => configFromEnvironment({ ...RUNTIME, AWS_REGION: 'not a region' })).toThrow(/AWS_REGION/);
  });

  test('a near miss of a key is refused with the key meant, not silently ignored', () => {
    expect(() => configFromEnvironment({ ...RUNTIME, IAM_AUTHORISED_GROUPS: 'ssh-users' })).toThrow(/did you mean IAM_AUTHORIZED_GROUPS/);
  });

  test('variables far from every key are not ours and are ignored', () => {
    const { config } = configFromEnvironment({ ...RUNTIME, IAM_AUTHORIZED_GROUPS: 'ssh-users', MY_TEAM_NOTE: 'hello', NODE_OPTIONS: '--enable-source-maps' });
    expect(config.authorizedGroups).toEqual(['ssh-users']);
  });

  test('undefined values (process.env\'s type) are skipped', () => {
    const { config } = configFromEnvironment({ ...RUNTIME, IAM_AUTHORIZED_GROUPS: 'ssh-users', SUDOERS_GROUPS: undefined });
    expect(config.sudoersGroups).toBeNull();
  });

  test('a value with a control character is refused', () => {
    expect(() => configFromEnvironment({ ...RUNTIME, IAM_AUTHORIZED_GROUPS: 'ssh-users\nadmins' })).toThrow(/control characters/);
  });

  test('the same key table as the config file: a deprecated key is read as the file reads it', () => {
    const r = configFromEnvironment({ ...RUNTIME, IAM_AUTHORIZED_GROUPS: 'ssh-users', SUDOERSGROUP: 'admins' });
    expect(r.config.sudoersGroups).toEqual(['admins']);
    expect(r.warnings.join('\n')).toMatch(/deprecated/);
  });
});
