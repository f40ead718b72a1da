/**
 * The .deb as an operator uses it, in a private mount namespace (overlays on /etc, /var and,
 * here, /usr): dpkg -i, iam-ssh install, iam-ssh uninstall, dpkg -r. /etc and /usr end as they
 * began; the package itself never configured anything.
 */
import { join } from 'node:path';
import { MountNamespace, rootSuite } from '../helpers/namespace';
import type { Release } from './artifacts';

// Every file under /etc with its content hash; every path under /usr with its type and mode, and
// a file's size (a directory's size on the overlay is no fact about its content).
// The shadow tools' backups (/etc/passwd- and the like) change with every user added or removed.
const SNAPSHOT = 'find /etc -type f ! -name "*-" -print0 | sort -z | xargs -0 sha256sum; find /usr \\( -type f -printf "%p f %m %s\\n" \\) -o -printf "%p %y %m\\n" | sort';
const lines = (text: string) => new Set(text.split('\n').filter(Boolean));
const minus = (a: Set<string>, b: Set<string>) => [...a].filter((l) => !b.has(l));

export function debRoundTrip(get: () => Release, version: string): void {
  rootSuite('the .deb in a private namespace', () => {
    let ns: MountNamespace;
    beforeAll(async () => {
      ns = await MountNamespace.create();
      await ns.must('sh', ['-c', 'mkdir -p /run/usr-up /run/usr-work && mount -t overlay overlay -o lowerdir=/usr,upperdir=/run/usr-up,workdir=/run/usr-work /usr']);
    });
    afterAll(async () => ns?.stop());

    test('dpkg -i changes nothing but its files; install and uninstall work from /usr/bin; dpkg -r leaves nothing', async () => {
      const before = lines((await ns.must('sh', ['-c', SNAPSHOT])).stdout);
      const deb = join(get().a, `iam-ssh_${version}_amd64.deb`);
      await ns.must('dpkg', ['-i', deb]);
      const installed = lines((await ns.must('sh', ['-c', SNAPSHOT])).stdout);
      // Only the package's files appeared: no config, no enabled unit, no user.
      const added = minus(installed, before);
      expect(added.filter((l) => !/^\/usr\/(bin\/iam-ssh|lib\/systemd\/system\/iam-ssh-[a-z-]+\.(service|timer)|share\/doc\/iam-ssh(\/[A-Za-z.-]+)?) /.test(l))).toEqual([]);
      expect(added.length).toBeGreaterThan(4);
      expect((await ns.exec('getent', ['passwd', 'iam-ssh'])).code).toBe(2);
      expect((await ns.must('/usr/bin/iam-ssh', ['--version'])).stdout).toMatch(new RegExp(`^iam-ssh ${version.replace(/\./g, '\\.')} \\(commit ${get().commit}, `));

      const install = await ns.exec('/usr/bin/iam-ssh', ['install', '--binary', '/usr/bin/iam-ssh', '--authorized-groups', 'ssh-users', '--region', 'us-east-1', '--no-sync'], { timeoutMs: 120_000 });
      expect({ code: install.code, err: install.code === 0 ? '' : install.stderr + install.stdout }).toEqual({ code: 0, err: '' });
      expect(await ns.readFile('/etc/ssh/sshd_config.d/00-iam-ssh.conf')).toContain('AuthorizedKeysCommand /usr/bin/iam-ssh keys');
      const uninstall = await ns.exec('/usr/bin/iam-ssh', ['uninstall'], { timeoutMs: 60_000 });
      expect(uninstall.code).toBe(0);
      // The executable is the package's: uninstall leaves it to dpkg.
      expect((await ns.exec('test', ['-x', '/usr/bin/iam-ssh'])).code).toBe(0);

      await ns.must('dpkg', ['-r', 'iam-ssh']);
      expect((await ns.exec('dpkg-query', ['-W', '-f', '${Status}', 'iam-ssh'])).stdout).not.toContain('installed');
      const after = lines((await ns.must('sh', ['-c', SNAPSHOT])).stdout);
      expect(minus(after, before)).toEqual([]);
      expect(minus(before, after)).toEqual([]);
    });
  });
}
