import { authInfoFingerprints, clean, formatText, mailMessage, subject, webhookPayload, type LoginFacts } from '../../../src/notify/message';
import { parsePublicKey } from '../../../src/util/ssh-key';

const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJXyD9GmkIAQpbu5HwrQ2nWb6CEEFoY0Q/FE/DXaIZTP';
const facts: LoginFacts = {
  localUser: 'grace', iamUser: 'Grace.Hopper@Navy.example', keyId: 'APKAEXAMPLE1', fingerprint: 'SHA256:abc',
  rhost: '203.0.113.7', service: 'sshd', tty: 'ssh', time: '2026-01-02T03:04:05.000Z', hostname: 'ip-10-0-0-1',
  instanceId: 'i-0123456789abcdef0', region: 'eu-west-1',
};

describe('login notification text', () => {
  test('names every fact, one per line', () => {
    expect(formatText(facts)).toBe([
      'Login as grace on ip-10-0-0-1 (i-0123456789abcdef0, eu-west-1)',
      'IAM user: Grace.Hopper@Navy.example',
      'Key: APKAEXAMPLE1 (SHA256:abc)',
      'From: 203.0.113.7',
      'Service: sshd, tty: ssh',
      'Time: 2026-01-02T03:04:05.000Z',
    ].join('\n'));
  });

  test('says unknown for what is not known', () => {
    const text = formatText({ ...facts, iamUser: null, keyId: null, fingerprint: null, instanceId: null, region: null, rhost: '' });
    expect(text).toContain('Login as grace on ip-10-0-0-1\n');
    expect(text).toContain('IAM user: unknown');
    expect(text).toContain('Key: unknown');
    expect(text).toContain('From: unknown');
    expect(formatText({ ...facts, keyId: null })).toContain('Key: key id unknown (SHA256:abc)');
  });

  test('control characters in PAM_RHOST and PAM_TTY cannot forge lines', () => {
    const hostile = { ...facts, rhost: 'evil\nIAM user: Someone.Else', tty: 'pts/0\r\nKey: forged\u0000\u202e' };
    const lines = formatText(hostile).split('\n');
    expect(lines).toHaveLength(6);
    expect(lines.filter((l) => l.startsWith('IAM user:'))).toEqual(['IAM user: Grace.Hopper@Navy.example']);
    expect(lines[3]).toBe('From: evil?IAM user: Someone.Else');
    expect(lines[4]).toBe('Service: sshd, tty: pts/0??Key: forged??');
  });

  test('values are bounded', () => {
    expect(clean('x'.repeat(1000))).toHaveLength(128);
    expect(formatText({ ...facts, rhost: 'a'.repeat(5000) }).length).toBeLessThan(600);
  });
});

describe('webhook payload', () => {
  test('carries a Slack text and every fact under stable names', () => {
    const body = JSON.parse(webhookPayload(facts));
    expect(body).toEqual({
      text: `iam-ssh: ${formatText(facts)}`, event: 'login', user: 'grace', iamUser: 'Grace.Hopper@Navy.example', keyId: 'APKAEXAMPLE1',
      fingerprint: 'SHA256:abc', rhost: '203.0.113.7', service: 'sshd', tty: 'ssh', time: '2026-01-02T03:04:05.000Z',
      hostname: 'ip-10-0-0-1', instanceId: 'i-0123456789abcdef0', region: 'eu-west-1',
    });
  });

  test("escapes Slack's markup so a reverse-DNS name cannot ping a channel", () => {
    const body = JSON.parse(webhookPayload({ ...facts, rhost: '<!channel> & <http://x|click>' }));
    expect(body.text).toContain('From: &lt;!channel&gt; &amp; &lt;http://x|click&gt;');
    expect(body.text).not.toMatch(/<|>/);
    expect(body.rhost).toBe('<!channel> & <http://x|click>');
  });
});

describe('mail message', () => {
  test('headers, a blank line, then the text; CRLF line ends', () => {
    const msg = mailMessage(facts, ['ops@example.com', 'sec@example.com']);
    const [head, body] = msg.split('\r\n\r\n');
    expect(head!.split('\r\n')).toEqual([
      'To: ops@example.com, sec@example.com',
      'Subject: [iam-ssh] login as grace on ip-10-0-0-1 from 203.0.113.7',
      'Auto-Submitted: auto-generated', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', 'Content-Transfer-Encoding: 7bit',
    ]);
    expect(body).toBe(formatText(facts).split('\n').join('\r\n') + '\r\n');
  });

  test('a hostile remote host cannot add a header', () => {
    const msg = mailMessage({ ...facts, rhost: 'x\r\nBcc: victim@example.org\r\n' }, ['ops@example.com']);
    const head = msg.split('\r\n\r\n')[0]!;
    expect(head).not.toMatch(/^Bcc:/m);
    expect(subject({ ...facts, rhost: 'a\nb' })).toBe('[iam-ssh] login as grace on ip-10-0-0-1 from a?b');
  });
});

describe('SSH_AUTH_INFO_0', () => {
  test('gives the fingerprint of the key that authenticated', () => {
    const fp = (parsePublicKey(ED25519) as { ok: true; key: { fingerprint: string } }).key.fingerprint;
    expect(authInfoFingerprints(`publickey ${ED25519}\n`)).toEqual([fp]);
    expect(authInfoFingerprints(`publickey ${ED25519}\nkeyboard-interactive\n`)).toEqual([fp]);
  });

  test('ignores other methods, malformed keys and absence', () => {
    expect(authInfoFingerprints(undefined)).toEqual([]);
    expect(authInfoFingerprints('password\n')).toEqual([]);
    expect(authInfoFingerprints('publickey ssh-ed25519 AAAA\n')).toEqual([]);
    expect(authInfoFingerprints(`publickey command="x" ${ED25519}\n`)).toEqual([]);
  });
});
