/**
 * iam-ssh on a Flatcar-like host under a real systemd: the Debian root arranged as Flatcar
 * arranges it. /usr is read-only; binaries go to /opt/bin; the base groups (sudo, docker,
 * wheel) exist only under /usr (/usr/share/baselayout/group for the tools; Debian has no
 * nss-usrfiles, so NSS gets the same groups as userdb records in /usr/lib/userdb);
 * /etc/ssh/sshd_config is a symlink to a read-only stock file without an Include; sshd is
 * socket-activated (sshd.socket with Accept=yes and sshd@.service) and no sshd.service exists.
 * One container serves the whole file; the tests run in order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerSuite } from '../helpers/container';
import { SystemdHost } from '../helpers/systemd-host';
import { makeClientKey, sshLogin, type ClientKey } from '../helpers/sshd';

const STOCK = '/usr/share/ssh/sshd_config';
const MAIN = '/etc/ssh/sshd_config';
const BIN = '/opt/bin/iam-ssh';

// Fixed text, run chrooted in the root before boot. $SSH_PORT is the container's own port.
const FLATCAR_LAYOUT = `
set -e
# Base groups only under /usr.
sed -i '/^sudo:/d' /etc/group /etc/gshadow
mkdir -p /usr/share/baselayout /usr/lib/userdb
printf 'wheel:x:10:root\\nsudo:x:150:\\ndocker:x:233:\\n' > /usr/share/baselayout/group
for g in wheel:10 sudo:150 docker:233; do
  name=\${g%%:*} gid=\${g#*:}
  printf '{"groupName":"%s","gid":%s}\\n' "$name" "$gid" > /usr/lib/userdb/$name.group
  ln -s $name.group /usr/lib/userdb/$gid.group
done
grep -q '^group:.*systemd' /etc/nsswitch.conf
# Flatcar's sudo rule for its base groups.
printf '%%sudo ALL=(ALL) NOPASSWD: ALL\\n' > /etc/sudoers.d/flatcar
chmod 0440 /etc/sudoers.d/flatcar
# sshd_config: a symlink to a stock file under /usr that includes nothing.
mkdir -p /usr/share/ssh
grep -v '^Include' /etc/ssh/sshd_config > /usr/share/ssh/sshd_config
ln -sf ../../usr/share/ssh/sshd_config /etc/ssh/sshd_config
# sshd socket-activated, one sshd per connection; Debian's ssh.service neither enabled nor aliased.
rm -f /etc/systemd/system/sshd.service /etc/systemd/system/multi-user.target.wants/ssh.service
printf '[Unit]\\nDescription=OpenSSH Server Socket\\nConflicts=sshd.service\\n\\n[Socket]\\nListenStream=%s\\nAccept=yes\\n\\n[Install]\\nWantedBy=sockets.target\\n' "$SSH_PORT" > /etc/systemd/system/sshd.socket
printf '[Unit]\\nDescription=OpenSSH per-connection server daemon\\n\\n[Service]\\nExecStart=-/usr/sbin/sshd -i -e\\nStandardInput=socket\\nStandardError=journal\\nRuntimeDirectory=sshd\\nRuntimeDirectoryPreserve=yes\\n' > /etc/systemd/system/sshd@.service
mkdir -p /etc/systemd/system/sockets.target.wants
ln -s /etc/systemd/system/sshd.socket /etc/systemd/system/sockets.target.wants/sshd.socket
# Flatcar's sshd keeps its privilege separation directory in /var/empty, always there; Debian's
# sshd wants /run/sshd, which only its own ssh.service would make.
printf 'd /run/sshd 0755 root root -\n' > /etc/tmpfiles.d/sshd.conf
mkdir -p /opt/bin
chmod 0755 /opt /opt/bin
`;

containerSuite('iam-ssh on a Flatcar-like host under a real systemd', () => {
  let h: SystemdHost;
  let keyDir: string;
  let alice: ClientKey;
  let stock: string;

  beforeAll(async () => {
    keyDir = mkdtempSync(join(tmpdir(), 'iam-ssh-flatcar-'));
    alice = await makeClientKey(keyDir, 'alice');
    h = await SystemdHost.start({
      setup: FLATCAR_LAYOUT,
      readOnly: ['/usr'],
      // Settings install keeps: sudo through Flatcar's base group, docker through GROUP_MAP.
      files: { '/etc/iam-ssh.conf': 'SUDO_LOCAL_GROUP="sudo"\nGROUP_MAP="docker-users=docker"\nALLOW_PRIVILEGED_GROUPS="docker"\n' },
    });
    await h.moto.seed({
      groups: ['ssh-users', 'ssh-admins', 'docker-users'],
      users: [
        { name: 'Alice.Smith', groups: ['ssh-users', 'ssh-admins', 'docker-users'], keys: [{ body: alice.publicLine }] },
      ],
    });
    stock = await h.c.readFile(STOCK);
  }, 600_000);

  afterAll(async () => {
    await h?.stop();
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  });

  test('the host is arranged as Flatcar: read-only /usr, base groups only there, symlinked sshd_config, socket-activated sshd', async () => {
    expect((await h.c.exec('touch', ['/usr/x'])).code).not.toBe(0);
    expect((await h.c.exec('grep', ['-q', '^sudo:', '/etc/group'])).code).toBe(1);
    expect((await h.c.must('getent', ['group', 'docker'])).stdout.trim()).toBe('docker:x:233:');
    expect((await h.c.must('readlink', [MAIN])).stdout.trim()).toBe('../../usr/share/ssh/sshd_config');
    expect((await h.c.exec('systemctl', ['is-active', 'sshd.socket'])).stdout.trim()).toBe('active');
    expect((await h.c.exec('systemctl', ['cat', 'sshd.service'])).code).not.toBe(0);
  });

  test('install picks /opt/bin and keeps the symlinked stock config working; the first sync writes {} membership drop-ins', async () => {
    const r = await h.install('--authorized-groups', 'ssh-users', '--sudo-groups', 'ssh-admins');
    expect(r.stdout).toContain(`installing iam-ssh as ${BIN}`);
    expect(r.code === 0 ? '' : r.stdout + r.stderr).toBe('');
    expect(r.stdout).toContain('run the first sync as iam-ssh-sync.service');
    expect((await h.c.must('stat', ['-c', '%U %a', BIN])).stdout.trim()).toBe('root 755');
    expect(await h.c.readFile('/etc/systemd/system/iam-ssh-sync.service')).toContain(`ExecStart=${BIN} sync`);
    // The stock file is untouched; sshd_config became a regular file that starts with our block.
    expect(await h.c.readFile(STOCK)).toBe(stock);
    expect((await h.c.exec('test', ['-L', MAIN])).code).toBe(1);
    expect(await h.c.readFile(MAIN)).toContain(`AuthorizedKeysCommand ${BIN} keys`);
    expect((await h.c.exec('/usr/sbin/sshd', ['-t'])).code).toBe(0);
    for (const group of ['sudo', 'docker']) expect(await h.c.readFile(`/etc/userdb/alice.smith:${group}.membership`)).toBe('{}\n');
  });

  test('a login goes through the socket; sudo works through the base group sudo; id shows docker (GROUP_MAP)', async () => {
    await h.giveCommandUserCredentials();
    const r = await sshLogin(h.c.sshPort, 'alice.smith', alice, ['id -nG; sudo -n id -un']);
    expect(r.stderr).toBe('');
    const [groups, sudo] = r.stdout.trim().split('\n');
    expect(groups!.split(' ')).toEqual(expect.arrayContaining(['alice.smith', 'sudo', 'docker']));
    expect(sudo).toBe('root');
    expect((await h.c.exec('systemctl', ['is-active', 'sshd.service'])).stdout.trim()).not.toBe('active');
    // sshd -i -e gives the command sshd's own journal stream as stderr: keys logs as iam-ssh all the same.
    const served = (await h.journal()).map((e) => JSON.parse(e.MESSAGE!) as Record<string, unknown>).filter((m) => m.event === 'keys.served');
    expect(served.at(-1)).toMatchObject({ user: 'alice.smith', iamUser: 'Alice.Smith' });
    expect((await h.journal()).filter((e) => e.MESSAGE!.includes('"keys.served"')).every((e) => e.SYSLOG_FACILITY === '10')).toBe(true);
  });

  test('doctor passes, judging sshd as sshd@.service starts it', async () => {
    const r = await h.c.exec(BIN, ['doctor', '--json'], { timeoutMs: 60_000 });
    const checks = (JSON.parse(r.stdout) as { checks: { id: string; status: string; summary: string }[] }).checks;
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(r.code).toBe(0);
    expect(checks.find((c) => c.id === 'sshd-config')!.summary).toMatch(/sshd@\.service/);
  });

  test('systemd 252 reads an empty membership file as no membership; sync rewrites it as {}', async () => {
    const file = '/etc/userdb/alice.smith:docker.membership';
    await h.c.must('truncate', ['-s', '0', file]);
    expect((await h.c.must('id', ['-nG', 'alice.smith'])).stdout.split(' ')).not.toContain('docker');
    expect((await h.c.exec('systemctl', ['start', 'iam-ssh-sync.service'], { timeoutMs: 120_000 })).code).toBe(0);
    expect(await h.c.readFile(file)).toBe('{}\n');
    expect((await h.c.must('id', ['-nG', 'alice.smith'])).stdout.trim().split(' ')).toContain('docker');
  });

  test('uninstall restores the symlink to the stock file', async () => {
    const r = await h.c.exec(BIN, ['uninstall'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect((await h.c.must('readlink', [MAIN])).stdout.trim()).toBe('../../usr/share/ssh/sshd_config');
    expect(await h.c.readFile(MAIN)).toBe(stock);
    expect((await h.c.exec('test', ['-e', BIN])).code).toBe(1);
    expect((await h.c.exec('systemctl', ['list-unit-files', '--no-legend', 'iam-ssh*'])).stdout).toBe('');
  });
});
