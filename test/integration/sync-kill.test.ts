/**
 * kill -9 of sync's process group at chosen points (between account commands, and inside
 * groupadd, useradd and userdel between the files they commit), then one more run: the host must
 * end exactly as after an uninterrupted run. Real shadow tools in private mount namespaces.
 */
import { ListUsersCommand } from '@aws-sdk/client-iam';
import { Moto } from '../helpers/moto';
import { IamProxy } from '../helpers/iam-proxy';
import { MountNamespace, rootSuite } from '../helpers/namespace';
import { requireBinary, type RunResult } from '../helpers/run';
import { BIN_IN_NS, AWS_ENV } from '../helpers/sync-env';
import { installKillPoint, describeKillPoint, ARMED_MARK, KILLED_MARK, type KillPoint } from '../helpers/kill-point';

const USERS = ['ann', 'ben', 'cid', 'dee', 'eve'];
const GROUPS = [...USERS, 'iam-synced-users', 'iam-ssh-sudo', 'users'];

/**
 * One host: a namespace with the binary, whose next run creates Ann, Ben, Cid and Dee; `withEve`:
 * a first run has created Eve, whom the next run removes.
 */
class Host {
  private constructor(readonly ns: MountNamespace, private readonly base: Record<string, string>) {}

  static async start(proxyUrl: string, point: KillPoint | null, withEve: boolean): Promise<Host> {
    const ns = await MountNamespace.create();
    await ns.must('install', ['-o', 'root', '-g', 'root', '-m', '0755', requireBinary(), BIN_IN_NS]);
    const routes = await installKillPoint(ns, point);
    const host = new Host(ns, { AWS_ENDPOINT_URL: proxyUrl, SUDOERS_GROUPS: 'admins', LOCAL_GROUPS: 'users', ...routes });
    if (withEve) {
      await host.config('leavers');
      const first = await host.sync();
      if (first.code !== 0) throw new Error(`set-up sync failed: ${first.stderr}`);
    }
    await host.config('ssh-users');
    return host;
  }

  config(groups: string): Promise<void> {
    const all = { ...this.base, IAM_AUTHORIZED_GROUPS: groups };
    return this.ns.writeFile('/etc/iam-ssh.conf', Object.entries(all).map(([k, v]) => `${k}="${v}"`).join('\n') + '\n');
  }

  sync(): Promise<RunResult> {
    return this.ns.exec(BIN_IN_NS, ['sync', '--wait', '0'], { env: AWS_ENV, timeoutMs: 120_000 });
  }

  /** A run in a process group of its own, which the kill point ends; resolves with how it ended. */
  async killedSync(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await this.ns.writeFile(ARMED_MARK, '');
    const proc = this.ns.spawn('setsid', [BIN_IN_NS, 'sync', '--wait', '0'], AWS_ENV);
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    await this.ns.must('rm', ['-f', ARMED_MARK]);
    return ended;
  }

  /** Everything an uninterrupted run decides, in a form that compares equal across hosts. */
  async state(): Promise<Record<string, unknown>> {
    const ns = this.ns;
    const lines = async (cmd: string, args: string[]) => (await ns.exec(cmd, args)).stdout.split('\n').filter(Boolean);
    const sortList = (s: string | undefined) => (s ?? '').split(',').filter(Boolean).sort().join(',');
    const passwd = (await lines('getent', ['passwd', ...USERS])).map((l) => l.split(':')).map(([n, , ...rest]) => [n, ...rest].join(':'));
    const shadow = await lines('getent', ['shadow', ...USERS]);
    const group = (await lines('getent', ['group', ...GROUPS])).map((l) => l.split(':')).map(([n, p, g, m]) => [n, p, g, sortList(m)].join(':'));
    const gshadow = (await lines('cat', ['/etc/gshadow'])).map((l) => l.split(':')).filter(([n]) => GROUPS.includes(n!)).map(([n, p, a, m]) => [n, p, sortList(a), sortList(m)].join(':'));
    const homes = await lines('sh', ['-c', 'cd /home && find . -printf "%p %u %g %m %s %y\\n" | sort']);
    const checks = async (tool: string) => {
      const r = await ns.exec(tool, ['-r']);
      return { code: r.code, out: (r.stdout + r.stderr).split('\n').sort() };
    };
    const registry = JSON.parse(await ns.readFile('/var/lib/iam-ssh/registry.json'));
    const synced = JSON.parse(await ns.readFile('/var/lib/iam-ssh/users.json')).users;
    const locks = await lines('sh', ['-c', 'ls /etc | grep -E "\\.lock$|\\+$" || true']);
    return { passwd, shadow, group, gshadow, homes, pwck: await checks('pwck'), grpck: await checks('grpck'), registry, synced, locks };
  }

  /** What exists of one account right after the kill: which files name it, and who owns its home. */
  async probe(user: string): Promise<string[]> {
    const script = [
      'u="$1"; h=$(getent passwd "$u" | cut -d: -f6); h=${h:-/home/$u}',
      'grep -q "^$u:" /etc/passwd && echo passwd',
      'grep -q "^$u:" /etc/shadow && echo shadow',
      'grep -q "^$u:" /etc/group && echo group',
      'grep -q "^$u:" /etc/gshadow && echo gshadow',
      'grep -Eq "^iam-synced-users:.*[:,]$u(,|$)" /etc/group && echo member',
      'grep -Eq "^iam-synced-users:.*[:,]$u(,|$)" /etc/gshadow && echo gshadow-member',
      '[ -d "$h" ] && echo "home=$(stat -c %U "$h")"',
      'true',
    ].join('\n');
    return (await this.ns.must('sh', ['-c', script, 'probe', user])).stdout.split('\n').filter(Boolean);
  }

  stop(): Promise<void> {
    return this.ns.stop();
  }
}

// Order of the account commands of the interrupted run: groupadd for the marker and sudo groups
// (unless Eve's run made them), groupadd and useradd for ann, ben, cid, dee, then usermod, pkill
// and userdel for eve. One point for each kind of state a
// kill leaves; the others (between two tools, or between two commits that leave the same kind of
// state) are covered by the unit tests of apply.ts and account-files.ts. `left` is what the kill
// leaves of the account at hand (stat calls the owner of a home whose account is gone UNKNOWN):
// proof that the kill came where it was meant to.
const BEN = ['group', 'gshadow', 'passwd', 'shadow', 'member', 'gshadow-member'];
const POINTS: { point: KillPoint; user: string; left: string[]; withEve?: true }[] = [
  { point: { tool: 'groupadd', run: 4, moment: { syscall: 'rename', nth: 2 } }, user: 'ben', left: ['group'] },
  { point: { tool: 'useradd', run: 2, moment: 'before' }, user: 'ben', left: BEN.slice(0, 2) },
  { point: { tool: 'useradd', run: 2, moment: { syscall: 'rename', nth: 1 } }, user: 'ben', left: BEN.slice(0, 2) },
  { point: { tool: 'useradd', run: 2, moment: { syscall: 'rename', nth: 2 } }, user: 'ben', left: BEN.slice(0, 3) },
  { point: { tool: 'useradd', run: 2, moment: { syscall: 'rename', nth: 4 } }, user: 'ben', left: BEN.slice(0, 5) },
  { point: { tool: 'useradd', run: 2, moment: { syscall: 'mkdir', nth: 1 } }, user: 'ben', left: BEN },
  { point: { tool: 'useradd', run: 2, moment: { syscall: 'chown', nth: 2 } }, user: 'ben', left: [...BEN, 'home=root'] },
  { point: { tool: 'useradd', run: 2, moment: { syscall: 'fchown', nth: 1, path: '/home/ben/.bashrc' } }, user: 'ben', left: [...BEN, 'home=ben'] },
  { point: { tool: 'userdel', run: 1, moment: { syscall: 'rename', nth: 2 } }, user: 'eve', left: ['group', 'gshadow', 'shadow', 'member', 'gshadow-member', 'home=UNKNOWN'], withEve: true },
  { point: { tool: 'userdel', run: 1, moment: { syscall: 'rename', nth: 4 } }, user: 'eve', left: ['gshadow', 'gshadow-member', 'home=UNKNOWN'], withEve: true },
];

/** Set-up shared by the concurrent tests (jest starts concurrent tests before a nested beforeAll). */
type State = Record<string, unknown>;
let shared: Promise<{ moto: Moto; proxy: IamProxy; reference: { fresh: State; withEve: State } }> | undefined;
function setUp() {
  shared ??= (async () => {
    const probe = await MountNamespace.create();
    const has = (await probe.exec('sh', ['-c', 'command -v strace'])).code === 0;
    await probe.stop();
    if (!has) throw new Error('strace is needed to kill useradd between the files it commits: run scripts/setup-host.sh');
    const moto = await Moto.start();
    const proxy = await IamProxy.start(moto.url);
    await moto.seed({
      groups: ['ssh-users', 'admins', 'leavers'],
      users: [
        { name: 'Ann', groups: ['ssh-users', 'admins'] },
        { name: 'Ben', groups: ['ssh-users'] },
        { name: 'Cid', groups: ['ssh-users', 'admins'] },
        { name: 'Dee', groups: ['ssh-users'] },
        { name: 'Eve', groups: ['leavers'] },
      ],
    });
    const c = moto.iam();
    const listed = ((await c.send(new ListUsersCommand({}))).Users ?? []).length;
    c.destroy();
    if (listed !== 5) throw new Error(`moto lists ${listed} users, not 5`);
    const uninterrupted = async (withEve: boolean) => {
      const host = await Host.start(proxy.url, null, withEve);
      try {
        if ((await host.sync()).code !== 0) throw new Error('the uninterrupted run failed');
        const state = await host.state();
        if (/"event":"sync.change"/.test((await host.sync()).stderr)) throw new Error('the run after the uninterrupted one changed something');
        return state;
      } finally {
        await host.stop();
      }
    };
    const [fresh, withEve] = await Promise.all([uninterrupted(false), uninterrupted(true)]);
    return { moto, proxy, reference: { fresh, withEve } };
  })();
  return shared;
}

/** At most this many hosts at once: each runs the 90 MB executable two or three times. */
function limiter(slots: number) {
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (slots > 0) slots--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else slots++;
    }
  };
}
const slot = limiter(2);

rootSuite('sync killed with kill -9 at any point converges on the next run', () => {
  afterAll(async () => {
    const s = await shared?.catch(() => undefined);
    await s?.proxy.stop();
    await s?.moto.stop();
  });

  test('the uninterrupted runs are what the comparisons expect', async () => {
    const { reference } = await setUp();
    for (const r of [reference.fresh, reference.withEve]) {
      expect((r.passwd as string[]).map((l) => l.split(':')[0])).toEqual(['ann', 'ben', 'cid', 'dee']);
      expect((r.group as string[]).find((l) => l.startsWith('iam-synced-users:'))).toMatch(/:ann,ben,cid,dee$/);
      expect(r.locks).toEqual([]);
    }
    expect(reference.withEve.homes).toEqual(expect.arrayContaining([expect.stringMatching(/^\.\/eve \d+ \d+ 755 /)]));
    expect((reference.fresh.homes as string[]).some((l) => l.startsWith('./eve'))).toBe(false);
  }, 300_000);

  test.concurrent.each(POINTS.map((p) => [describeKillPoint(p.point), p] as const))('killed: %s', async (_name, { point, user, left, withEve }) => {
    const { proxy, reference } = await setUp();
    await slot(async () => {
      const host = await Host.start(proxy.url, point, withEve === true);
      try {
        const killed = await host.killedSync();
        expect(killed.signal).toBe('SIGKILL');
        expect((await host.ns.exec('test', ['-e', KILLED_MARK])).code).toBe(0);
        expect((await host.probe(user)).sort()).toEqual([...left].sort());
        const again = await host.sync();
        if (again.code !== 0) console.log(again.stderr);
        expect(again.code).toBe(0);
        expect(await host.state()).toEqual(withEve ? reference.withEve : reference.fresh);
      } finally {
        await host.stop();
      }
    });
  }, 300_000);
});
