/**
 * The `notify-login` hook in sshd's PAM file: pure text functions that add and remove it
 * (idempotent, marked so that removal takes out exactly what was added), and the adapter that
 * `install` uses to apply them to the file, keeping its mode and owner.
 *
 * Where the hook goes: in the session stack, before `pam_selinux.so open` when there is one
 * (Debian, Amazon Linux: modules after it run in the user's SELinux context, which could not
 * read the keys cache), else after the last session line (`@include common-session` included),
 * else at the end of the file.
 */
import { lstatSync, readFileSync } from 'node:fs';
import type { InstallHost } from './host';

export const PAM_MARKER = '# iam-ssh notify-login: added by `iam-ssh install`; `iam-ssh uninstall` removes these two lines';

/** A path PAM can take as one argument: absolute, no white space, no comment or bracket syntax. */
const PAM_ARG_PATH = /^\/[A-Za-z0-9._+/-]+$/;
const HOOK = /^\s*session\s+optional\s+pam_exec\.so\s+quiet\s+\S+\s+(?:--config\s+\S+\s+)?notify-login\s*$/;
const SESSION = /^\s*(?:-?session\s|@include\s+common-session)/;
const SELINUX_OPEN = /^\s*session\s.*\bpam_selinux\.so\b.*\bopen\b/;

/** The rule line itself. */
export function notifyRule(binaryPath: string, configFile?: string): string {
  for (const p of [binaryPath, ...(configFile ? [configFile] : [])]) {
    if (!PAM_ARG_PATH.test(p) || p.split('/').includes('..')) throw new Error(`${JSON.stringify(p)} cannot be written into a PAM rule (absolute path without spaces expected)`);
  }
  return `session optional pam_exec.so quiet ${binaryPath}${configFile ? ` --config ${configFile}` : ''} notify-login`;
}

/** Removes the marked hook (marker line and the rule after it); anything else is left as it is. */
export function removeNotifyLine(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === PAM_MARKER) {
      if (HOOK.test(lines[i + 1] ?? '')) i++;
      continue;
    }
    out.push(lines[i]!);
  }
  return out.join('\n');
}

/** Adds the hook (replacing an earlier one of ours, so a changed binary path is updated). */
export function addNotifyLine(text: string, binaryPath: string, configFile?: string): string {
  const rule = notifyRule(binaryPath, configFile);
  const lines = removeNotifyLine(text).split('\n');
  const hadNewline = lines.length > 1 && lines[lines.length - 1] === '';
  if (hadNewline) lines.pop();
  let at = lines.findIndex((l) => SELINUX_OPEN.test(l));
  if (at === -1) {
    let last = -1;
    lines.forEach((l, i) => SESSION.test(l) && (last = i));
    at = last === -1 ? lines.length : last + 1;
  } else {
    // Keep the comment block that introduces pam_selinux open together with it.
    while (at > 0 && /^\s*#/.test(lines[at - 1]!)) at--;
  }
  lines.splice(at, 0, PAM_MARKER, rule);
  return lines.join('\n') + '\n';
}

/** True when the text carries our hook. */
export function hasNotifyLine(text: string): boolean {
  return text.split('\n').some((l, i, all) => l === PAM_MARKER && HOOK.test(all[i + 1] ?? ''));
}

/** Vendor copies that PAM reads when /etc/pam.d has no file of the service (Flatcar and others). */
const VENDOR_DIRS = ['/usr/lib/pam.d', '/usr/share/pam.d'];

/**
 * Sets the hook in `pamFile` (binary given) or removes it (null), through the installer's
 * idempotent writer, keeping the file's mode and owner. Returns whether anything changed.
 * A service file that exists only as a vendor copy is copied to `pamFile` with the hook.
 */
export function setNotifyHook(host: InstallHost, pamFile: string, binary: string | null, configFile?: string): boolean {
  const st = lstatSync(pamFile, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw new Error(`${pamFile} is not a regular file; add the hook by hand: ${notifyRule(binary ?? '/usr/local/bin/iam-ssh', configFile)}`);
  let text: string | null = st ? readFileSync(pamFile, 'utf8') : null;
  if (text === null) {
    if (binary === null) return false;
    const base = pamFile.split('/').pop()!;
    const vendor = VENDOR_DIRS.map((d) => `${d}/${base}`).find((p) => lstatSync(p, { throwIfNoEntry: false })?.isFile());
    if (!vendor) throw new Error(`${pamFile} does not exist: is sshd built with PAM?`);
    text = readFileSync(vendor, 'utf8');
  }
  const wanted = binary === null ? removeNotifyLine(text) : addNotifyLine(text, binary, configFile);
  if (st && wanted === text) return false;
  return host.writeFile(pamFile, wanted, st ? st.mode & 0o7777 : 0o644, st ? { uid: st.uid, gid: st.gid } : undefined);
}
