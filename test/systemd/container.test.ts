/**
 * The container helper itself: two containers boot at once under a real systemd, each with its
 * own name, cgroup and sshd port, commands run inside, and stopping leaves nothing behind.
 */
import { existsSync } from 'node:fs';
import { Container, containerSuite, BINARY_IN_CONTAINER } from '../helpers/container';
import { run } from '../helpers/run';

containerSuite('a booted container', () => {
  const booted: Container[] = [];
  afterAll(async () => {
    for (const c of booted.splice(0)) await c.stop();
  });

  test('two boot side by side, run commands under their own systemd, and stop without leftovers', async () => {
    const t0 = performance.now();
    const [a, b] = await Promise.all([Container.boot(), Container.boot()]);
    booted.push(a!, b!);
    const bootMs = performance.now() - t0;
    expect(a!.name).not.toBe(b!.name);
    expect(a!.sshPort).not.toBe(b!.sshPort);
    for (const c of [a!, b!]) {
      expect((await c.must('systemctl', ['is-system-running'])).stdout.trim()).toBe('running');
      expect((await c.must('cat', ['/proc/1/comm'])).stdout.trim()).toBe('systemd');
      expect((await c.must('systemctl', ['is-active', 'ssh.service'])).stdout.trim()).toBe('active');
      // The container shares the host's network: its sshd listens on its own port there.
      expect((await run('ss', ['-Hltn', `sport = :${c.sshPort}`])).stdout).toContain(`:${c.sshPort}`);
      expect((await c.must('test', ['-x', BINARY_IN_CONTAINER])).code).toBe(0);
      const r = await c.exec('sh', ['-c', 'echo out; echo err >&2; exit 7']);
      expect(r).toMatchObject({ code: 7, stdout: 'out\n', stderr: 'err\n' });
    }
    // Separate roots: a file written in one is not in the other.
    await a!.writeFile('/etc/marker', 'a\n');
    expect((await b!.exec('test', ['-e', '/etc/marker'])).code).toBe(1);
    const t1 = performance.now();
    for (const c of booted.splice(0)) {
      await c.stop();
      expect(existsSync(`/proc/${c.pid}`)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/unified/${c.name}`)).toBe(false);
      expect(existsSync(`/sys/fs/cgroup/systemd/${c.name}`)).toBe(false);
    }
    console.log(`two containers: booted in ${Math.round(bootMs)} ms, stopped in ${Math.round(performance.now() - t1)} ms`);
  }, 600_000);
});
