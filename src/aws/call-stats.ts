/**
 * AWS calls made by one run, by service and action: `{ iam: { GetGroup: 5 }, ssm: {...} }`.
 * The same shape goes into the JSON log lines (keys.served, sync.done) and `--stats`. Pure.
 */
export type ServiceCalls = Readonly<Record<string, number>>;
export type CallStats = Record<string, Record<string, number>>;

/** Builds the stats from per-service counters, leaving out services that made no call. */
export function callStats(services: Record<string, ServiceCalls | undefined>): CallStats {
  const out: CallStats = {};
  for (const [service, counts] of Object.entries(services)) {
    const nonZero = Object.entries(counts ?? {}).filter(([, n]) => n > 0);
    if (nonZero.length) out[service] = Object.fromEntries(nonZero.sort(([a], [b]) => a.localeCompare(b)));
  }
  return out;
}

export function totalCalls(stats: CallStats): number {
  let total = 0;
  for (const counts of Object.values(stats)) for (const n of Object.values(counts)) total += n;
  return total;
}

/** One line for a human: `3 AWS calls: iam GetGroup 1, ListSSHPublicKeys 1, GetSSHPublicKey 1`. */
export function formatCalls(stats: CallStats): string {
  const total = totalCalls(stats);
  if (total === 0) return '0 AWS calls';
  const parts = Object.entries(stats).map(([service, counts]) => `${service} ${Object.entries(counts).map(([a, n]) => `${a} ${n}`).join(', ')}`);
  return `${total} AWS call${total === 1 ? '' : 's'}: ${parts.join('; ')}`;
}
