// The .deb and .rpm of one target: the executable as /usr/bin/iam-ssh, the systemd units (not
// enabled; `iam-ssh install --binary /usr/bin/iam-ssh` writes and enables the ones it runs) and
// the docs. No maintainer scripts: a package configures nothing and an upgrade restarts nothing.
// Reproducible: every file gets mode and mtime fixed (SOURCE_DATE_EPOCH), owners are root.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './runtime.mjs';

export const DEB_ARCH = { x64: 'amd64', arm64: 'arm64' };
export const RPM_ARCH = { x64: 'x86_64', arm64: 'aarch64' };
export const BINARY_PATH = '/usr/bin/iam-ssh';
const UNITS = ['iam-ssh-sync.service', 'iam-ssh-sync.timer', 'iam-ssh-boot.service'];
const DOCS = [
  ['README.md', 'README.md'],
  ['docs/install.md', 'install.md'],
  ['docs/configuration.md', 'configuration.md'],
  ['docs/migration.md', 'migration.md'],
  ['docs/troubleshooting.md', 'troubleshooting.md'],
  ['docs/iam-policy.json', 'iam-policy.json'],
];

export function debName(version, arch) {
  return `iam-ssh_${version}_${DEB_ARCH[arch]}.deb`;
}

export function rpmName(version, arch) {
  return `iam-ssh-${version}-1.${RPM_ARCH[arch]}.rpm`;
}

function run(cmd, args, env = {}) {
  try {
    return execFileSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: e });
  }
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    return d.isDirectory() ? [...walk(p), p] : [p];
  });
}

/** Every file and directory under `dir` (itself too): fixed mode and mtime. */
function normalize(dir, epoch) {
  for (const p of [...walk(dir), dir]) {
    const st = statSync(p);
    chmodSync(p, st.isDirectory() || (st.mode & 0o100) !== 0 ? 0o755 : 0o644);
    utimesSync(p, epoch, epoch);
  }
}

/** The file tree both packages install, under `stage`. */
function stageTree(stage, { executable, nodeLicense }) {
  const put = (path, fromFile, text) => {
    const p = join(stage, path);
    mkdirSync(join(p, '..'), { recursive: true });
    if (fromFile) copyFileSync(fromFile, p);
    else writeFileSync(p, text);
  };
  put(BINARY_PATH, executable);
  chmodSync(join(stage, BINARY_PATH), 0o755);
  // The units as `install --binary /usr/bin/iam-ssh` writes them.
  for (const unit of UNITS) {
    const text = readFileSync(join(ROOT, 'systemd', unit), 'utf8').split('/usr/local/bin/iam-ssh').join(BINARY_PATH);
    put(`/usr/lib/systemd/system/${unit}`, null, text);
  }
  for (const [from, to] of DOCS) put(`/usr/share/doc/iam-ssh/${to}`, join(ROOT, from));
  const copyright = ['iam-ssh: MIT License (see package.json).', '', 'The executable contains the Node.js runtime, under this license:', '', readFileSync(nodeLicense, 'utf8')].join('\n');
  put('/usr/share/doc/iam-ssh/copyright', null, copyright);
}

function installedSizeKb(stage) {
  return Math.ceil(walk(stage).reduce((n, p) => n + (statSync(p).isFile() ? statSync(p).size : 0), 0) / 1024);
}

/** Builds both packages of one target into outDir; returns their file names. */
export function buildPackages({ arch, version, executable, nodeLicense, outDir, epoch, workDir }) {
  const env = { SOURCE_DATE_EPOCH: String(epoch), TZ: 'UTC', LC_ALL: 'C' };
  const work = mkdtempSync(join(workDir, `pkg-${arch}-`));
  try {
    // .deb
    const deb = join(work, 'deb');
    stageTree(deb, { executable, nodeLicense });
    const control = readFileSync(join(ROOT, 'packaging/deb/control'), 'utf8')
      .replace('@VERSION@', version)
      .replace('@ARCH@', DEB_ARCH[arch])
      .replace('@SIZE_KB@', String(installedSizeKb(deb)));
    mkdirSync(join(deb, 'DEBIAN'));
    writeFileSync(join(deb, 'DEBIAN/control'), control);
    normalize(deb, epoch);
    const debFile = debName(version, arch);
    run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', deb, join(work, debFile)], env);
    renameSync(join(work, debFile), join(outDir, debFile));

    // .rpm: rpmbuild copies the staged tree; its own timestamps are clamped to the epoch.
    const stage = join(work, 'rpm-stage');
    stageTree(stage, { executable, nodeLicense });
    normalize(stage, epoch);
    const top = join(work, 'rpmbuild');
    const defines = {
      _topdir: top,
      iam_ssh_version: version,
      iam_ssh_stage: stage,
      _buildhost: 'reproducible',
      use_source_date_epoch_as_buildtime: '1',
      clamp_mtime_to_source_date_epoch: '1',
      source_date_epoch_from_changelog: '0',
      _binary_payload: 'w6.gzdio',
    };
    const args = ['-bb', '--quiet', '--target', `${RPM_ARCH[arch]}-linux`];
    for (const [k, v] of Object.entries(defines)) args.push('--define', `${k} ${v}`);
    run('rpmbuild', [...args, join(ROOT, 'packaging/rpm/iam-ssh.spec')], env);
    const rpmFile = rpmName(version, arch);
    renameSync(join(top, 'RPMS', RPM_ARCH[arch], rpmFile), join(outDir, rpmFile));
    return [debFile, rpmFile];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
