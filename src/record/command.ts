/**
 * `iam-ssh record` (sshd's ForceCommand for the recorded group), `iam-ssh replay <session-id>`
 * and `iam-ssh sessions`. replay and sessions read the journal (`journalctl -o json`, or an
 * exported file of such lines) and trust only what verify.ts proves came from the recorder.
 */
import type { CommandModule } from 'yargs';
import { recordSession } from './recorder';
import { readJournal } from './journal-read';
import { verifySessions, type JournalEntry, type VerifiedSession } from './verify';
import { asciicast, playbackDelays, sessionEvents } from './asciicast';
import { SESSION_ID } from './wire';
import { sessionRows, formatSessions, unrecordedRows } from './sessions-format';
import { unrecordedLogins } from './verify';
import { loadConfig } from '../config/load';
import { exec } from '../platform/exec';

type Global = { config?: string };

export function recordCommand(configFromEnv: string | undefined): CommandModule<Global, Global> {
  return {
    command: 'record',
    describe: "record this SSH session to journald (sshd's ForceCommand for RECORD_GROUPS)",
    builder: (y) => y.epilogue('Installed by `iam-ssh install` as `ForceCommand` in a `Match Group` block of sshd; see docs/recording.md.'),
    handler: async (args) => {
      process.exitCode = await recordSession(args.config ?? configFromEnv);
    },
  };
}

interface ReadArgs extends Global { file?: string; since?: string }

const readOptions = {
  file: { type: 'string', requiresArg: true, describe: 'read this file of `journalctl -o json` lines (an export) instead of the journal' },
  since: { type: 'string', requiresArg: true, describe: "passed to journalctl --since (e.g. '2 hours ago', 2026-01-31)" },
  exe: { type: 'string', requiresArg: true, describe: "the recorder's executable that records must come from (default: this one)" },
} as const;

async function load(args: ReadArgs & { exe?: string }, sid?: string): Promise<{ sessions: VerifiedSession[]; entries: JournalEntry[] }> {
  const entries = await readJournal({ file: args.file ?? null, since: args.since ?? null, sid: sid ?? null });
  return { sessions: verifySessions(entries, { expectedExe: args.exe ?? (process.execPath.endsWith('/node') ? null : process.execPath) }), entries };
}

/** The members of RECORD_LOCAL_GROUP now: their logins must each have a recording. */
async function recordedUsers(configFile: string | undefined): Promise<Set<string>> {
  const { config } = loadConfig(configFile);
  if (config.recordGroups === null) return new Set();
  const r = await exec('getent', ['group', config.recordLocalGroup]);
  return new Set(r.exitCode === 0 ? (r.stdout.trim().split(':')[3] ?? '').split(',').filter(Boolean) : []);
}

export function replayCommand(): CommandModule<Global, ReadArgs & { sessionId: string; asciicast?: boolean; speed: number; maxIdle: number; exe?: string }> {
  return {
    command: 'replay <session-id>',
    describe: 'play a recorded session back, or write it as an asciicast v2 file (--asciicast)',
    builder: (y) =>
      y.positional('session-id', { type: 'string', demandOption: true })
        .options(readOptions)
        .option('asciicast', { type: 'boolean', describe: "write asciinema's asciicast v2 to stdout instead of playing" })
        .option('speed', { type: 'number', default: 1, describe: 'playback speed (2 = twice as fast)' })
        .option('max-idle', { type: 'number', default: 2, describe: 'longest pause in playback, seconds' }) as never,
    handler: async (args) => {
      if (!SESSION_ID.test(args.sessionId)) throw new Error(`not a session id: ${JSON.stringify(args.sessionId)}`);
      if (!(args.speed > 0) || !(args.maxIdle >= 0)) throw new Error('--speed must be above 0 and --max-idle at least 0');
      const s = (await load(args, args.sessionId)).sessions.find((x) => x.sid === args.sessionId);
      if (!s) {
        process.stderr.write(`iam-ssh: no session ${args.sessionId} in the journal read\n`);
        process.exitCode = 1;
        return;
      }
      for (const f of s.flags) process.stderr.write(`iam-ssh: warning: ${f}\n`);
      if (args.asciicast) process.stdout.write(asciicast(s));
      else {
        for (const step of playbackDelays(sessionEvents(s), args.speed, args.maxIdle)) {
          if (step.delayMs > 0) await new Promise((r) => setTimeout(r, step.delayMs));
          process.stdout.write(step.text);
        }
      }
      // Not a clean recording: say so in the status too, for scripts.
      process.exitCode = s.flags.length > 0 ? 3 : 0;
    },
  };
}

export function sessionsCommand(configFromEnv: string | undefined): CommandModule<Global, ReadArgs & { user?: string; json?: boolean; exe?: string }> {
  return {
    command: 'sessions',
    describe: 'list recorded sessions: user, IAM user, key, source, start, duration, exit, and what verification found',
    builder: (y) =>
      y.options(readOptions)
        .option('user', { type: 'string', requiresArg: true, describe: 'only this local user' })
        .option('json', { type: 'boolean', describe: 'one JSON object per line' }) as never,
    handler: async (args) => {
      const { sessions, entries } = await load(args);
      const unrecorded = unrecordedLogins(entries, sessions, await recordedUsers(args.config ?? configFromEnv));
      const rows = [...sessionRows(sessions), ...unrecordedRows(unrecorded)].sort((a, b) => (a.start ?? '').localeCompare(b.start ?? ''))
        .filter((r) => !args.user || r.user === args.user);
      process.stdout.write(args.json ? rows.map((r) => JSON.stringify(r) + '\n').join('') : formatSessions(rows));
    },
  };
}
