/**
 * SUDO_RULE is the right-hand side of `%<SUDO_LOCAL_GROUP> <SUDO_RULE>`. Whatever it says, the
 * line must grant only that group: nothing may reach the user list or add a second rule.
 * test/integration/config-safety.test.ts checks the accepted forms with the real visudo and sudo.
 */
import fc from 'fast-check';
import { sudoRule } from '../../../src/config/values';

describe('accepted rules, written back in one canonical form', () => {
  test.each([
    ['ALL=(ALL) NOPASSWD:ALL', 'ALL=(ALL) NOPASSWD:ALL'],
    ['ALL=(ALL:ALL) ALL', 'ALL=(ALL:ALL) ALL'],
    ['ALL = (ALL) NOPASSWD: ALL', 'ALL=(ALL) NOPASSWD:ALL'],
    ['  ALL=(ALL)   NOPASSWD:ALL  ', 'ALL=(ALL) NOPASSWD:ALL'],
    ['ALL=ALL', 'ALL=ALL'],
    ['ALL=(root) NOPASSWD: /usr/bin/systemctl restart nginx, /usr/bin/journalctl -u nginx', 'ALL=(root) NOPASSWD:/usr/bin/systemctl restart nginx, /usr/bin/journalctl -u nginx'],
    ['ALL=(postgres, root:adm) /usr/bin/psql', 'ALL=(postgres,root:adm) /usr/bin/psql'],
    ['ALL=(:ALL) /usr/bin/id', 'ALL=(:ALL) /usr/bin/id'],
    ['web1,web2.example.com,10.0.0.5=(ALL) PASSWD:LOG_INPUT:LOG_OUTPUT: ALL', 'web1,web2.example.com,10.0.0.5=(ALL) PASSWD:LOG_INPUT:LOG_OUTPUT:ALL'],
    ['ALL=(ALL) NOEXEC:NOSETENV:MAIL:NOMAIL:EXEC:NOLOG_INPUT:NOLOG_OUTPUT:/usr/bin/less /var/log/syslog', 'ALL=(ALL) NOEXEC:NOSETENV:MAIL:NOMAIL:EXEC:NOLOG_INPUT:NOLOG_OUTPUT:/usr/bin/less /var/log/syslog'],
    ['ALL=(ALL) NOPASSWD:/usr/bin/id ""', 'ALL=(ALL) NOPASSWD:/usr/bin/id ""'],
    ['ALL=(ALL) /usr/sbin/service foo@bar.service --now -x_1 +y', 'ALL=(ALL) /usr/sbin/service foo@bar.service --now -x_1 +y'],
  ])('%j', (input, canonical) => {
    expect(sudoRule(input)).toBe(canonical);
    expect(sudoRule(canonical)).toBe(canonical);
  });
});

describe('refused: anything that could reach the user list, add a rule, or hide more power', () => {
  test.each([
    // the finding: a leading comma continues `%group` into a user list that names every account
    [',ALL ALL=(ALL) NOPASSWD:ALL', /must start with a host/],
    [', root ALL=(ALL) ALL', /must start with a host/],
    [' ,ALL ALL=(ALL) ALL', /must start with a host/],
    ['ALL ALL=(ALL) NOPASSWD:ALL', /host/],
    ['ALL, ALL ALL=(ALL) ALL', /host/],
    // a second Host_List=Cmnd_Spec joined by ':'
    ['ALL=(ALL) ALL : ALL=(ALL) NOPASSWD: ALL', /./],
    ['ALL=(ALL) NOPASSWD:ALL, ALL ALL=(ALL) ALL', /./],
    ['ALL=(ALL) /bin/ls : otherhost=ALL', /./],
    // aliases, netgroups, negation, uids and groups in the runas list
    ['SERVERS=(ALL) ALL', /host/],
    ['+netgroup=(ALL) ALL', /./],
    ['!ALL=(ALL) ALL', /./],
    ['ALL=(#0) ALL', /character/],
    ['ALL=(%wheel) ALL', /character/],
    ['ALL=(ADMINS) ALL', /run-as/],
    ['ALL=() ALL', /run-as/],
    ['ALL=(ALL ALL', /./],
    ['ALL=ALL)', /./],
    // tags outside the allow-list, options
    ['ALL=(ALL) SETENV: /usr/bin/id', /tag SETENV is not allowed/],
    ['ALL=(ALL) FOLLOW: sudoedit /etc/motd', /tag FOLLOW is not allowed/],
    ['ALL=(ALL) INTERCEPT: ALL', /tag INTERCEPT is not allowed/],
    ['ALL=(ALL) nopasswd: ALL', /./],
    ['ALL=(ALL) CHROOT=/tmp /bin/sh', /./],
    ['ALL=(ALL) CWD=* ALL', /./],
    ['ALL=(ALL) TIMEOUT=1h ALL', /./],
    // commands: negation, digests, globs, directories, sudoedit, relative paths, escapes
    ['ALL=(ALL) ALL, !/bin/sh', /character/],
    ['ALL=(ALL) sha256:abcdef /bin/ls', /command/],
    ['ALL=(ALL) /usr/bin/*', /./],
    ['ALL=(ALL) /usr/bin/systemctl restart *', /./],
    ['ALL=(ALL) /usr/bin/', /command/],
    ['ALL=(ALL) /usr/bin/../bin/sh', /command/],
    ['ALL=(ALL) /usr/./bin/sh', /command/],
    ['ALL=(ALL) sudoedit /etc/passwd', /command/],
    ['ALL=(ALL) bin/sh', /command/],
    ['ALL=(ALL) /bin/echo a=b', /./],
    ['ALL=(ALL) /bin/echo a\\,b', /./],
    ['ALL=(ALL) /bin/chown root:root /x', /./],
    ['ALL=(ALL) ALL ALL', /ALL takes no arguments/],
    ['ALL=(ALL) /bin/echo "a"', /argument/],
    ['ALL=(ALL) /bin/echo "" x', /argument/],
    // comments, includes, line tricks, empties
    ['ALL=(ALL) ALL # x', /./],
    ['ALL=(ALL) ALL\n%users ALL=(ALL) ALL', /./],
    ['ALL=(ALL) ALL\\', /./],
    ['ALL=(ALL)\tALL', /./],
    ['@includedir /tmp', /./],
    ['', /./],
    ['   ', /./],
    ['=(ALL) ALL', /host/],
    ['ALL=', /command/],
    ['ALL=(ALL)', /command/],
    ['ALL=(ALL) NOPASSWD:', /command/],
    ['ALL=(ALL) ALL,', /command/],
    ['ALL=(ALL) ALL,,/bin/ls', /command/],
    ['ALL=(ALL) ALL=(ALL) ALL', /./],
    ['ALL=(ALL) /bin/ls\u00a0-l', /./],
    ['ALL=(ALL) /bin/ｌs', /./],
    [`ALL=(ALL) /bin/echo ${'a'.repeat(1100)}`, /longer than/],
  ])('%j', (input, why) => {
    expect(() => sudoRule(input)).toThrow(why);
  });

  test('the error shows the value and the expected form', () => {
    expect(() => sudoRule(',ALL ALL=(ALL) NOPASSWD:ALL')).toThrow('",ALL ALL=(ALL) NOPASSWD:ALL" is not a sudoers rule like ALL=(ALL) NOPASSWD:ALL');
  });
});

describe('properties', () => {
  const host = fc.constantFrom('ALL', 'web1', 'db-2.example.com', '10.1.2.3');
  const runas = fc.constantFrom('', '(ALL) ', '(root) ', '(ALL:ALL) ', '(:adm) ', '(root,postgres) ');
  const tags = fc.subarray(['NOPASSWD', 'PASSWD', 'NOEXEC', 'EXEC', 'NOSETENV', 'LOG_INPUT', 'NOLOG_OUTPUT', 'MAIL']);
  const arg = fc.constantFrom('-u', 'nginx', 'foo@bar.service', '/var/log/x', '--now', '+1');
  const command = fc.oneof(fc.constant('ALL'), fc.tuple(fc.constantFrom('/usr/bin/id', '/bin/systemctl', '/usr/sbin/nginx'), fc.array(arg, { maxLength: 3 })).map(([p, a]) => [p, ...a].join(' ')));
  const rule = fc
    .tuple(fc.uniqueArray(host, { minLength: 1, maxLength: 3 }), runas, tags, fc.array(command, { minLength: 1, maxLength: 3 }))
    .filter(([hosts]) => !hosts.includes('ALL') || hosts.length === 1)
    .map(([hosts, r, t, cmds]) => `${hosts.join(', ')} = ${r}${t.map((x) => `${x}: `).join('')}${cmds.join(' , ')}`);

  test('every rule of the grammar is accepted, and its canonical form is a fixed point', () => {
    fc.assert(
      fc.property(rule, (r) => {
        const c = sudoRule(r);
        expect(sudoRule(c)).toBe(c);
      }),
    );
  });

  test('any accepted text starts with a host and holds a single `=`, no line break, comment, alias or escape', () => {
    const alphabet = fc.constantFrom(...'AL=(),: !%#/\\\n\t"*@.-_aroutNOPASWDSETVbin01'.split(''));
    fc.assert(
      fc.property(fc.oneof(rule, fc.string({ unit: alphabet, maxLength: 40 })), (s) => {
        let c: string;
        try {
          c = sudoRule(s);
        } catch {
          return;
        }
        expect(c).toMatch(/^(ALL|[a-z0-9][a-z0-9.-]*)(,[a-z0-9][a-z0-9.-]*)*=/);
        expect(c.split('=')).toHaveLength(2);
        expect(c).not.toMatch(/[\n\t\\#!%*]/);
      }),
      { numRuns: 3000 },
    );
  });
});
