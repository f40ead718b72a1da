import { versionRequest, versionInfo, versionText } from '../../src/version';

describe('--version', () => {
  test.each([
    [['--version'], 'text'],
    [['--version', '--json'], 'json'],
    [['--json', '--version'], 'json'],
  ])('%j is a version request', (argv, want) => {
    expect(versionRequest(argv)).toBe(want);
  });

  test.each([[[]], [['--json']], [['keys', '--version']], [['--version', 'keys']], [['--version', '--json', '--json']], [['--version', '--version']], [['--version=1']], [['sync', '--version', '--json']]])(
    '%j is not (left to the full parser)',
    (argv) => {
      expect(versionRequest(argv)).toBeNull();
    },
  );

  const info = versionInfo({ version: '1.2.3', commit: '0123456789abcdef0123456789abcdef01234567', target: 'linux-arm64' }, { node: 'v24.22.3', platform: 'linux', arch: 'arm64' });

  test('names the version, the commit, the Node inside and the target', () => {
    expect(info).toEqual({ name: 'iam-ssh', version: '1.2.3', commit: '0123456789abcdef0123456789abcdef01234567', node: '24.22.3', target: 'linux-arm64' });
    expect(versionText(info, 'text')).toBe('iam-ssh 1.2.3 (commit 0123456789abcdef0123456789abcdef01234567, node 24.22.3, linux-arm64)\n');
    expect(JSON.parse(versionText(info, 'json'))).toEqual(info);
  });

  test('from source (no build-time values) it says so instead of inventing them', () => {
    const dev = versionInfo({}, { node: 'v20.20.2', platform: 'linux', arch: 'x64' });
    expect(dev).toEqual({ name: 'iam-ssh', version: '0.0.0-dev', commit: 'unknown', node: '20.20.2', target: 'linux-x64' });
  });

  test('a build-time target that is not the CPU it runs on is shown as both', () => {
    const odd = versionInfo({ version: '1.2.3', commit: 'c', target: 'linux-arm64' }, { node: 'v24.22.3', platform: 'linux', arch: 'x64' });
    expect(odd.target).toBe('linux-arm64 (running on linux-x64)');
  });
});
