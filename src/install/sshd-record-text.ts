/**
 * The text of sshd's recording block (see ./sshd-record-block.ts): its lines, what `sshd -T` must
 * then say for a recorded user, and the marked block at the end of a main file. Pure.
 */
export const RECORD_BEGIN = '# BEGIN iam-ssh record: managed by `iam-ssh install`; `iam-ssh uninstall` removes this block';
export const RECORD_END = '# END iam-ssh record';

export type RecordBlockChange = { method: 'drop-in'; path: string; main: string } | { method: 'block'; path: string };

/** configFile: null for the default file, which the command then finds itself. */
export interface RecordBlockSettings { group: string; binary: string; configFile: string | null }

/** The settings a recorded user must end up with, as `sshd -T` prints them. */
export function expectedEffective(s: RecordBlockSettings): Record<string, string> {
  return {
    forcecommand: forceCommand(s), allowtcpforwarding: 'no', x11forwarding: 'no', permittunnel: 'no',
    allowagentforwarding: 'no', allowstreamlocalforwarding: 'no', exposeauthinfo: 'yes',
  };
}

function forceCommand(s: RecordBlockSettings): string {
  return s.configFile === null ? `${s.binary} record` : `${s.binary} --config ${s.configFile} record`;
}

export function recordBlockLines(s: RecordBlockSettings): string[] {
  return [
    `Match Group ${s.group}`,
    `\tForceCommand ${forceCommand(s)}`,
    '\tAllowTcpForwarding no', '\tAllowStreamLocalForwarding no', '\tX11Forwarding no', '\tPermitTunnel no', '\tAllowAgentForwarding no',
    '\tExposeAuthInfo yes',
  ];
}

export function appendRecordBlock(text: string, s: RecordBlockSettings): string {
  const base = removeRecordBlock(text);
  return base + (base === '' || base.endsWith('\n') ? '' : '\n') + [RECORD_BEGIN, ...recordBlockLines(s), RECORD_END].join('\n') + '\n';
}

export function removeRecordBlock(text: string): string {
  const start = text.indexOf(RECORD_BEGIN + '\n');
  if (start === -1) return text;
  const end = text.indexOf('\n' + RECORD_END + '\n', start);
  if (end === -1) throw new Error(`an iam-ssh record block in sshd_config has no "${RECORD_END}" line; fix the file by hand`);
  return text.slice(0, start) + text.slice(end + RECORD_END.length + 2);
}

