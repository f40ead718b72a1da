import { readFileSync } from 'node:fs';
import { addNotifyLine, removeNotifyLine, hasNotifyLine, notifyRule, PAM_MARKER } from '../../../src/install/pam';

const BIN = '/usr/local/bin/iam-ssh';
const RULE = `session optional pam_exec.so quiet ${BIN} notify-login`;

// Debian 12's /etc/pam.d/sshd, abridged to its structure.
const DEBIAN = `# PAM configuration for the Secure Shell service
@include common-auth
account    required     pam_nologin.so
@include common-account
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close
session    required     pam_loginuid.so
@include common-session
session    optional     pam_motd.so noupdate
session    required     pam_env.so user_readenv=1 envfile=/etc/default/locale

# SELinux needs to intervene at login time to ensure that the process starts
# in the proper default security context.
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so open

@include common-password
`;

// Amazon Linux 2's layout.
const AMAZON = `#%PAM-1.0
auth       substack     password-auth
account    include      password-auth
password   include      password-auth
# pam_selinux.so close should be the first session rule
session    required     pam_selinux.so close
session    required     pam_loginuid.so
# pam_selinux.so open should only be followed by sessions to be executed in the user context
session    required     pam_selinux.so open env_params
session    include      password-auth
session    include      postlogin
`;

// Flatcar-like: one include per stack, no SELinux.
const INCLUDES = `auth include system-remote-login
account include system-remote-login
password include system-remote-login
session include system-remote-login`;

describe('PAM notify hook', () => {
  test('Debian: before the comment block of pam_selinux open, after the other session lines', () => {
    const out = addNotifyLine(DEBIAN, BIN).split('\n');
    const at = out.indexOf(RULE);
    expect(out[at - 1]).toBe(PAM_MARKER);
    expect(out[at - 3]).toMatch(/pam_env\.so user_readenv/);
    expect(out[at + 1]).toMatch(/^# SELinux needs/);
  });

  test('Amazon Linux: before pam_selinux open', () => {
    const out = addNotifyLine(AMAZON, BIN).split('\n');
    expect(out[out.indexOf(RULE) - 2]).toMatch(/pam_loginuid/);
    expect(out[out.indexOf(RULE) + 2]).toMatch(/pam_selinux\.so open/);
  });

  test('no SELinux: after the last session line; no session stack: at the end', () => {
    expect(addNotifyLine(INCLUDES, BIN)).toBe(`${INCLUDES}\n${PAM_MARKER}\n${RULE}\n`);
    expect(addNotifyLine('auth required pam_unix.so\n', BIN)).toBe(`auth required pam_unix.so\n${PAM_MARKER}\n${RULE}\n`);
  });

  test('the machine this runs on: its own sshd PAM file, if any', () => {
    let text: string;
    try { text = readFileSync('/etc/pam.d/sshd', 'utf8'); } catch { return; }
    const out = addNotifyLine(text, BIN);
    expect(hasNotifyLine(out)).toBe(true);
    expect(removeNotifyLine(out)).toBe(text.endsWith('\n') ? text : text + '\n');
  });

  test('idempotent: adding twice gives one hook; a new binary path replaces the old hook', () => {
    const once = addNotifyLine(DEBIAN, BIN);
    expect(addNotifyLine(once, BIN)).toBe(once);
    const moved = addNotifyLine(once, '/opt/bin/iam-ssh', '/etc/iam-ssh.conf');
    expect(moved.split('\n').filter((l) => l.startsWith('session') && l.includes('notify-login'))).toEqual(['session optional pam_exec.so quiet /opt/bin/iam-ssh --config /etc/iam-ssh.conf notify-login']);
    expect(moved.split('\n').filter((l) => l === PAM_MARKER)).toHaveLength(1);
  });

  test('removal takes out exactly what was added', () => {
    for (const original of [DEBIAN, AMAZON, INCLUDES + '\n']) {
      expect(removeNotifyLine(addNotifyLine(original, BIN))).toBe(original);
      expect(removeNotifyLine(original)).toBe(original);
    }
    // An operator's own pam_exec notify-login line without our marker is not ours to remove.
    const own = `${DEBIAN}${RULE}\n`;
    expect(removeNotifyLine(own)).toBe(own);
  });

  test.each(['relative/iam-ssh', '/usr/local/bin/iam ssh', '/x#y', '/a/../b', '/bin/x\nsession required pam_deny.so', ''])('refuses a binary path PAM would misread: %p', (p) => {
    expect(() => notifyRule(p)).toThrow(/PAM rule/);
    expect(() => addNotifyLine(DEBIAN, p)).toThrow();
  });
});
