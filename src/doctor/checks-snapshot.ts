/** `doctor` with SNAPSHOT_URL: the pinned key, and the snapshot's serial, age, verification and last fetch. */
import type { CheckResult, DoctorFacts, Status } from './facts';
import { formatAge } from './checks-sync';

type Result = Omit<CheckResult, 'id'>;
const r = (status: Status, summary: string, fix?: string): Result => (fix ? { status, summary, fix } : { status, summary });

export function checkSnapshot(f: DoctorFacts): Result {
  const s = f.snapshot;
  if (!s) return r('skip', 'SNAPSHOT_URL is not set: sync reads IAM directly');
  if (s.publicKeyError) return r('fail', `the pinned key cannot verify anything: ${s.publicKeyError}`, 'aws kms get-public-key --key-id <SNAPSHOT_KMS_KEY> (as PEM) > the SNAPSHOT_PUBLIC_KEY file, root-owned 0644');
  const st = s.state;
  if (!st) return r('warn', `no snapshot from ${s.url} accepted on this host yet`, 'iam-ssh sync  # and read its sync.snapshot_* lines');
  const age = f.now - Date.parse(st.generatedAt);
  const fetched = `last fetch ${formatAge(Math.max(0, f.now - Date.parse(st.lastFetch)))} ago: ${st.lastResult}`;
  if (age > s.maxAgeMs) {
    return r('fail', `snapshot serial ${st.serial} was generated ${formatAge(age)} ago, more than SNAPSHOT_MAX_AGE: access is frozen at it (${fetched})`, 'check the publisher (iam-ssh publish, or its Lambda function and schedule)');
  }
  if (/^(refused|failed)/.test(st.lastResult)) return r('fail', `snapshot serial ${st.serial} (signature verified, ${formatAge(Math.max(0, age))} old) stands, but the ${fetched}`, 'iam-ssh sync  # and read its sync.snapshot_* lines');
  return r('ok', `snapshot serial ${st.serial}, signature verified, generated ${formatAge(Math.max(0, age))} ago; ${fetched}`);
}

export const snapshotChecks = [{ id: 'access-snapshot', run: checkSnapshot }];
