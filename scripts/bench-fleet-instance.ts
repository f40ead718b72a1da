// One instance of the fleet bench (scripts/bench-fleet.ts): the snapshot read path of
// `iam-ssh sync` for the config file given, as a process of its own with its own STATE_DIR:
// the conditional GET of the manifest, verification against the pinned key, the body when the
// serial is new, and the record of the accepted snapshot (its ETag) as a sync that applied
// everything records it. Accounts are not touched: the bench measures the AWS calls, which
// this path alone makes (sync's plan and apply make none in snapshot mode).
// Prints one JSON line: what the read came to and the calls it made.
import { loadConfig } from '../src/config/load';
import { snapshotSource } from '../src/sync/snapshot-source';
import type { Logger } from '../src/util/log';

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: bench-fleet-instance CONFIG_FILE');
  const { config } = loadConfig(file);
  const events: string[] = [];
  const log: Logger = { log: (_level, event, fields) => void events.push(`${event}${fields?.reason ? `: ${String(fields.reason)}` : ''}`) };
  const source = await snapshotSource(config, log, false);
  if (source.kind === 'snapshot') source.record(true);
  const serial = source.kind === 'snapshot' || source.kind === 'not-modified' ? source.serial : null;
  process.stdout.write(JSON.stringify({ kind: source.kind, serial, s3: source.s3Calls ?? {}, events }) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ kind: 'error', error: String(e) }) + '\n');
  process.exit(1);
});
