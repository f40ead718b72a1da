/**
 * aws-ec2-ssh, the tool iam-ssh replaces, as it leaves a host: where its install.sh and its RPM
 * put its schedule, its scripts and its sshd lines, and how each is recognised and disabled.
 * Pure: ./legacy.ts reads the files into a LegacyScan; install acts on it and doctor judges it
 * (doctor/checks-legacy.ts), so what doctor checks is what install does.
 */

/** Its install.sh and its RPM both schedule import_users.sh here, every 10 minutes as root. */
export const LEGACY_CRON_FILE = '/etc/cron.d/import_users';
/** Other crontabs an operator may have scheduled it in by hand; install never edits them. */
export const OTHER_CRONTABS = ['/etc/crontab', '/var/spool/cron/crontabs/root', '/var/spool/cron/root'];
/** install.sh copies its scripts to /opt, the RPM to /usr/bin; both stay where they are. */
export const LEGACY_SCRIPTS = ['/opt/import_users.sh', '/opt/authorized_keys_command.sh', '/usr/bin/import_users.sh', '/usr/bin/authorized_keys_command.sh'];
/** The prefix install puts before aws-ec2-ssh's sshd lines; removing it restores them byte for byte. */
export const SSHD_MARK = '# aws-ec2-ssh, disabled by iam-ssh install: ';
/** The name of the cron file kept under STATE_DIR; later copies that differ get .2, .3, ... */
export const KEPT_NAME = 'import_users';

export interface Line {
  line: number;
  text: string;
}

export interface LegacySchedule {
  path: string;
  /** The job lines that run import_users.sh. */
  lines: Line[];
  /** Its own file holding only its jobs: moved aside whole. Anything else is the operator's to edit. */
  movable: boolean;
}

/** What of aws-ec2-ssh is on a host, read by ./legacy.ts scanLegacy. Plain data. */
export interface LegacyScan {
  /** Crontabs with an active line that runs import_users.sh. */
  schedules: LegacySchedule[];
  /** Where install keeps its cron file (a directory under STATE_DIR), and the copies there, oldest first. */
  keptDir: string;
  kept: string[];
  /** Its scripts that exist. */
  scripts: string[];
  /** /etc/aws-ec2-ssh.conf when it exists. */
  config: string | null;
  /** sshd's main file: aws-ec2-ssh's lines still in force there, and how many install marked. */
  sshd: { path: string; lines: Line[]; marked: number };
  /** Places that could not be read (their error), so the scan may have missed a schedule there. */
  unreadable: string[];
}

/** What install disabled of aws-ec2-ssh, in the install manifest: never restored by uninstall, which says how to. */
export interface LegacyTakeover {
  /** Its cron file, moved aside into STATE_DIR. */
  cron: { from: string; to: string }[];
  /** Its lines in sshd's main file, commented out with SSHD_MARK. */
  sshd: { path: string; lines: number } | null;
}

/** cron's job lines: not blank, not a comment, not a VAR=value setting. */
function jobLines(text: string): Line[] {
  return text
    .split('\n')
    .map((raw, i) => ({ line: i + 1, text: raw.trim() }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#') && !/^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(l.text));
}

/** A command line that runs import_users.sh, by any path or through a shell. */
export function runsImport(command: string): boolean {
  return /(^|[\s/;&|('"`])import_users\.sh(?=$|[\s;&|)'"`])/.test(command);
}

/**
 * The schedule a crontab holds, or null when no active line runs import_users.sh. `own`: it is
 * LEGACY_CRON_FILE and a regular file, so it can be moved aside without touching anything else.
 */
export function cronSchedule(path: string, text: string, own: boolean): LegacySchedule | null {
  const jobs = jobLines(text);
  const lines = jobs.filter((j) => runsImport(j.text));
  if (lines.length === 0) return null;
  return { path, lines, movable: own && lines.length === jobs.length };
}

const LEGACY_COMMAND = /^\s*AuthorizedKeysCommand(?:\s*=\s*|\s+)\S*\/authorized_keys_command\.sh(?:\s.*)?$/i;
const LEGACY_USER = /^\s*AuthorizedKeysCommandUser(?:\s*=\s*|\s+)nobody\s*$/i;

/**
 * aws-ec2-ssh's active lines in an sshd config file: its AuthorizedKeysCommand (the script of
 * install.sh or of the RPM), and, only when that is there, the AuthorizedKeysCommandUser nobody
 * it wrote with it.
 */
export function legacySshdLines(text: string): Line[] {
  const lines = text.split('\n').map((t, i) => ({ line: i + 1, text: t.replace(/\r$/, '') }));
  const commands = lines.filter((l) => LEGACY_COMMAND.test(l.text));
  if (commands.length === 0) return [];
  return lines.filter((l) => LEGACY_COMMAND.test(l.text) || LEGACY_USER.test(l.text));
}

/** Comments out aws-ec2-ssh's lines with SSHD_MARK; line numbers and every other byte stay. */
export function disableLegacySshd(text: string): { text: string; lines: Line[] } {
  const found = legacySshdLines(text);
  if (found.length === 0) return { text, lines: [] };
  const lines = text.split('\n');
  for (const l of found) lines[l.line - 1] = SSHD_MARK + lines[l.line - 1];
  return { text: lines.join('\n'), lines: found };
}

export function markedSshdLines(text: string): number {
  return text.split('\n').filter((l) => l.startsWith(SSHD_MARK)).length;
}

/** The name of the n-th kept copy (1-based). */
export function keptName(n: number): string {
  return n === 1 ? KEPT_NAME : `${KEPT_NAME}.${n}`;
}

/** Kept copies among a directory's names, oldest first. */
export function keptNames(names: string[]): string[] {
  const n = (name: string) => (name === KEPT_NAME ? 1 : Number(/^import_users\.([1-9][0-9]{0,5})$/.exec(name)?.[1] ?? NaN));
  return names.filter((name) => Number.isInteger(n(name))).sort((a, b) => n(a) - n(b));
}

/** The commands that bring aws-ec2-ssh back, for uninstall and for an install that failed after taking over. */
export function restoreCommands(scan: Pick<LegacyScan, 'kept' | 'sshd'>): string[] {
  const out: string[] = [];
  const last = scan.kept[scan.kept.length - 1];
  if (last) out.push(`mv ${last} ${LEGACY_CRON_FILE}`);
  if (scan.sshd.marked > 0) out.push(`sed -i 's/^${SSHD_MARK}//' ${scan.sshd.path}  # then reload sshd`);
  return out;
}

/** Where a schedule runs import_users.sh, e.g. `/etc/crontab:23`. */
export function scheduleLines(schedules: LegacySchedule[]): string {
  return schedules.flatMap((s) => s.lines.map((l) => `${s.path}:${l.line}`)).join(', ');
}

/**
 * The manifest's record after this install: earlier moves, this one's, copies found kept (by an
 * install that failed before writing its manifest), and the sshd lines marked now (or before).
 */
export function legacyRecord(previous: LegacyTakeover | undefined, moved: { from: string; to: string }[], kept: string[], sshd: LegacyTakeover['sshd']): LegacyTakeover | undefined {
  const cron = [...(previous?.cron ?? [])];
  for (const m of [...kept.map((to) => ({ from: LEGACY_CRON_FILE, to })), ...moved]) {
    if (!cron.some((c) => c.to === m.to)) cron.push(m);
  }
  const lines = sshd ?? previous?.sshd ?? null;
  return cron.length > 0 || lines ? { cron, sshd: lines } : undefined;
}

/**
 * What install says it found of aws-ec2-ssh and what it does with each piece, printed before
 * any change (with --dry-run too). Nothing when no schedule or sshd line of it is in force.
 */
export function predecessorReport(scan: LegacyScan, configImported: boolean, configFile: string): string[] {
  if (scan.schedules.length === 0 && scan.sshd.lines.length === 0) return [];
  const out = ['aws-ec2-ssh is installed here: iam-ssh takes its place'];
  for (const s of scan.schedules) out.push(`  its schedule ${s.path} goes to ${scan.keptDir}/ before iam-ssh's first sync (${scheduleLines([s])}: ${s.lines[0]!.text})`);
  if (scan.sshd.lines.length > 0) out.push(`  its lines in ${scan.sshd.path} are commented out, marked "${SSHD_MARK.trim()}"`);
  for (const script of scan.scripts) {
    out.push(`  keep ${script}: ${/import_users\.sh$/.test(script) ? 'nothing runs it once its schedule is moved aside' : 'sshd no longer runs it'}`);
  }
  if (scan.config) out.push(`  keep ${scan.config}: ${configImported ? `its settings are imported into ${configFile}` : `not read while ${configFile} exists`}`);
  return out;
}
