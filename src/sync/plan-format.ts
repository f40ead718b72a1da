/** Renders a plan for people (`sync --dry-run`) and for machines (`--json`). Pure. */
import type { Action, Plan } from './plan';

function detail(a: Action): string {
  switch (a.kind) {
    case 'create-group': return '';
    case 'create-user': return `IAM ${a.iamName}, uid ${a.uid ?? 'auto'}, groups ${a.groups.join(',') || '-'}`;
    case 'add-member':
    case 'remove-member': return `group ${a.group}${a.via === 'userdb' ? ' (userdb drop-in)' : ''}`;
    case 'write-sudoers': return a.content.split('\n').filter((l) => l && !l.startsWith('#')).join(' ');
    case 'remove-user': return `${a.iamName ? `IAM ${a.iamName}, ` : ''}home ${a.keepHome ? 'kept' : 'REMOVED'}${a.userdelArgsRemove ? ' (USERDEL_ARGS --remove would delete it; only REMOVE_HOME=yes does)' : ''}`;
    case 'adopt-user': return `IAM ${a.iamName}, uid ${a.uid} kept`;
    case 'rename-user': return `to ${a.to}, home ${a.moveHome ? 'moved' : 'not moved'}`;
    case 'remove-legacy-sudoers': return `${a.file}, ${a.grant ? `after ${a.grant} grants sudo` : 'no sudo from it'}`;
  }
}

function subject(a: Action): string {
  return a.kind === 'create-group' ? a.group : a.kind === 'write-sudoers' ? 'sudoers' : a.user;
}

export function formatPlan(p: Plan): string {
  const rows = p.actions.map((a) => [a.kind, subject(a), detail(a), a.reason]);
  const out: string[] = [];
  if (rows.length === 0) out.push('No changes: this host matches IAM.');
  else {
    const head = ['ACTION', 'TARGET', 'DETAIL', 'WHY'];
    const widths = head.map((h, i) => Math.min(48, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
    const line = (r: string[]) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
    out.push(line(head), ...rows.map(line));
    out.push('', `${rows.length} change${rows.length === 1 ? '' : 's'}.`);
  }
  if (p.notices.length) {
    out.push('', 'Notices:');
    for (const n of p.notices) out.push(`  ${n.level.toUpperCase().padEnd(5)} ${n.code}: ${n.message}`);
  }
  if (!p.accessComplete) out.push('', 'IAM read of the authorized groups incomplete: no account is removed and the recorded member list is kept; the run exits non-zero.');
  else if (!p.complete) out.push('', 'Some IAM reads failed: only what depends on them is withheld (see the notices); the run exits non-zero.');
  if (p.stranded.length) out.push('', `Managed accounts outside UID_MIN..UID_MAX: ${p.stranded.join(', ')}; the run exits non-zero.`);
  return out.join('\n') + '\n';
}

export function planJson(p: Plan): string {
  const { complete, accessComplete, removalsWithheld, stranded, actions, notices, desired } = p;
  return JSON.stringify({ complete, accessComplete, removalsWithheld, stranded, actions, notices, desired }, null, 2) + '\n';
}
