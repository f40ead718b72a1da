/**
 * Where sync's IAM answers come from when SNAPSHOT_URL is set: the verified access snapshot,
 * seen as an IamDirectory (snapshot/directory.ts), so that the plan and its application are
 * those of a direct read. A 304 ends the run with no change; a stale or refused snapshot ends it
 * with exit 1 and the last good state kept, unless SNAPSHOT_FALLBACK=iam.
 */
import type { Config } from '../config/config';
import type { Logger } from '../util/log';
import { errText } from '../util/log';
import type { IamDirectory } from '../aws/iam';
import { createObjectStore, type ObjectStore } from '../aws/s3';
import { fetchSnapshot } from '../snapshot/fetch';
import { snapshotDirectory } from '../snapshot/directory';
import { readSnapshotState, writeSnapshotState, type SnapshotState } from '../state/snapshot-state';

export type SnapshotSource =
  /** Read IAM directly: no SNAPSHOT_URL, or SNAPSHOT_FALLBACK=iam after a failure. */
  | { kind: 'iam'; s3Calls: Record<string, number> | null }
  | { kind: 'not-modified'; serial: number; s3Calls: Record<string, number> }
  | { kind: 'stop'; s3Calls: Record<string, number>; reason: string }
  | {
      kind: 'snapshot'; iam: IamDirectory; serial: number; s3Calls: Record<string, number>;
      /** Records the snapshot as accepted; with `applied`, its ETag too (the next run may get a 304). */
      record: (applied: boolean) => void;
    };

export async function snapshotSource(config: Config, log: Logger, dryRun: boolean, deps: { store?: ObjectStore; now?: () => number } = {}): Promise<SnapshotSource> {
  if (!config.snapshotUrl) return { kind: 'iam', s3Calls: null };
  const now = deps.now ?? Date.now;
  const url = config.snapshotUrl;
  let store: ObjectStore;
  try {
    store = deps.store ?? (await createObjectStore(config, 3));
  } catch (e) {
    return fallBack(config, log, {}, 'failed', errText(e));
  }
  const last = readSnapshotState(config.stateDir);
  const got = await fetchSnapshot(config, store, last, now);
  const note = (result: string) => {
    if (dryRun || !last) return;
    try {
      writeSnapshotState(config.stateDir, { ...last, lastFetch: new Date(now()).toISOString(), lastResult: result });
    } catch (e) {
      log.log('warn', 'sync.snapshot_state_unwritten', { error: errText(e) });
    }
  };
  if (got.kind === 'not-modified') {
    note('not modified');
    return { kind: 'not-modified', serial: got.serial, s3Calls: store.calls };
  }
  if (got.kind !== 'accepted') {
    note(`${got.kind}: ${got.reason}`);
    return fallBack(config, log, store.calls, got.kind, got.reason);
  }
  const { manifest, snapshot, etag } = got;
  log.log('info', 'sync.snapshot_accepted', { url, serial: manifest.serial, generatedAt: manifest.generatedAt, users: snapshot.users.length, previous: last?.serial ?? null });
  return {
    kind: 'snapshot', iam: snapshotDirectory(snapshot), serial: manifest.serial, s3Calls: store.calls,
    record: (applied) => {
      if (dryRun) return;
      const state: SnapshotState = {
        version: 1, url, serial: manifest.serial, sha256: manifest.sha256, generatedAt: manifest.generatedAt,
        // A run that did not apply everything fetches the same snapshot again next time.
        etag: applied ? etag : null, lastFetch: new Date(now()).toISOString(), lastResult: applied ? 'applied' : 'applied in part',
      };
      try {
        writeSnapshotState(config.stateDir, state);
      } catch (e) {
        log.log('error', 'sync.snapshot_state_unwritten', { error: errText(e) });
      }
    },
  };
}

function fallBack(config: Config, log: Logger, s3Calls: Record<string, number>, kind: 'refused' | 'failed', reason: string): SnapshotSource {
  const iam = config.snapshotFallback === 'iam';
  log.log('error', kind === 'refused' ? 'sync.snapshot_refused' : 'sync.snapshot_failed', {
    url: config.snapshotUrl, reason, fallback: config.snapshotFallback,
    message: iam ? 'reading IAM directly (SNAPSHOT_FALLBACK=iam)' : 'nothing is changed; the last good state stays',
  });
  return iam ? { kind: 'iam', s3Calls } : { kind: 'stop', s3Calls, reason };
}
