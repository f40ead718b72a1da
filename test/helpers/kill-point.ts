/**
 * Kills a sync at a chosen point: a wrapper in /usr/local/sbin (first on sync's PATH; USERADD_PROGRAM
 * and USERDEL_PROGRAM point at it) counts the tool's runs and, at the chosen one, kills the whole
 * process group with SIGKILL: before the tool runs, after it, or inside it, when strace makes the
 * tool's Nth system call of a kind (rename: one file of /etc committed; mkdir: the home) deliver
 * SIGKILL to the tool first. sync must be started in a process group of its own (setsid), and
 * only after ARMED_MARK is created.
 */
import type { MountNamespace } from './namespace';

export type KillTool = 'useradd' | 'userdel' | 'groupadd' | 'gpasswd';
/** `path`: count only the calls on that file (strace -P), such as one file of the skeleton copy. */
export type KillMoment = 'before' | 'after' | { syscall: 'rename' | 'mkdir' | 'chown' | 'fchown'; nth: number; path?: string };

export interface KillPoint {
  tool: KillTool;
  /** Which run of the tool, from 1. */
  run: number;
  moment: KillMoment;
}

export const KILLED_MARK = '/run/iam-ssh-test-killed';
/** Runs count, and the kill happens, only once this file exists: set-up runs share the caller's process group. */
export const ARMED_MARK = '/run/iam-ssh-test-armed';

export function describeKillPoint(k: KillPoint): string {
  const at = typeof k.moment === 'string' ? k.moment : `at ${k.moment.syscall} #${k.moment.nth}${k.moment.path ? ` of ${k.moment.path}` : ''}`;
  return `${k.tool} #${k.run} ${at}`;
}

/** Installs wrappers for every tool (counting only) and the kill at `point`; returns the config lines that route sync through them. */
export async function installKillPoint(ns: MountNamespace, point: KillPoint | null): Promise<Record<string, string>> {
  for (const tool of ['useradd', 'userdel', 'groupadd', 'gpasswd'] as const) {
    const real = (await ns.must('sh', ['-c', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$1"', 'which', tool])).stdout.trim();
    let kill = '';
    if (point && point.tool === tool) {
      const m = point.moment;
      const inner = m === 'before' ? '' : m === 'after' ? `${real} "$@"` : `strace -f -o /dev/null ${m.path ? `-P ${m.path} ` : ''}-e trace=${m.syscall} -e inject=${m.syscall}:signal=KILL:when=${m.nth} ${real} "$@"`;
      kill = `if [ "$n" = ${point.run} ] && [ -e ${ARMED_MARK} ] && [ ! -e ${KILLED_MARK} ]; then\n  : > ${KILLED_MARK}\n  ${inner}\n  kill -KILL 0\nfi\n`;
    }
    // Fixed text: the inserted values are the tool's name, paths and numbers, all the test's own.
    const count = `/run/iam-ssh-test-count-${tool}`;
    const counting = `if [ -e ${ARMED_MARK} ]; then n=$(( $(cat ${count} 2>/dev/null || echo 0) + 1 )); echo $n > ${count}; fi\n`;
    await ns.writeFile(`/usr/local/sbin/${tool}`, `#!/bin/sh\n${counting}${kill}exec ${real} "$@"\n`, '0755');
  }
  return { USERADD_PROGRAM: '/usr/local/sbin/useradd', USERDEL_PROGRAM: '/usr/local/sbin/userdel' };
}
