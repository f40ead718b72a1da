// The pinned Node runtime of each target (runtime.json): fetched with `npm pack` into
// node_modules/.cache (outside git), checked against the pinned SHA-512 before every use, and
// extracted. A target whose CPU is not this machine's runs under qemu-user, so that the code
// cache and the SEA blob are made by the target's own V8.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, mkdtempSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PINNED = JSON.parse(readFileSync(join(ROOT, 'scripts/release/runtime.json'), 'utf8'));
export const TARGETS = Object.keys(PINNED.targets);
const CACHE = join(ROOT, 'node_modules', '.cache', 'iam-ssh-runtime', PINNED.version);

// The qemu-user binary and the target's libraries (Debian's cross libc6/libstdc++ packages).
const EMULATORS = { arm64: { qemu: 'qemu-aarch64-static', sysroot: '/usr/aarch64-linux-gnu', strip: 'aarch64-linux-gnu-strip' } };

function checkTarget(arch) {
  if (!PINNED.targets[arch]) throw new Error(`unknown target ${JSON.stringify(arch)}; known: ${TARGETS.join(', ')}`);
  return PINNED.targets[arch];
}

function integrityOf(file) {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/** The verified npm tarball of the target's Node; fetched once with npm. */
export function runtimeTarball(arch) {
  const { package: name, integrity } = checkTarget(arch);
  const tgz = join(CACHE, `${name}-${PINNED.version}.tgz`);
  if (!existsSync(tgz)) {
    mkdirSync(CACHE, { recursive: true });
    execFileSync('npm', ['pack', `${name}@${PINNED.version}`, '--pack-destination', CACHE, '--silent', '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const actual = integrityOf(tgz);
  if (actual !== integrity) {
    rmSync(tgz, { force: true });
    throw new Error(`${name}@${PINNED.version}: integrity ${actual} is not the pinned ${integrity}; the tarball was removed`);
  }
  return tgz;
}

/** Path of the target's `node` binary, extracted from the verified tarball. */
export function runtimeBinary(arch) {
  const tgz = runtimeTarball(arch);
  const dir = join(CACHE, arch);
  const node = join(dir, 'package', 'bin', 'node');
  if (!existsSync(node)) {
    const tmp = mkdtempSync(join(CACHE, `.${arch}-`));
    execFileSync('tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node', 'package/LICENSE']);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  }
  return node;
}

export function hostTarget() {
  return process.arch;
}

/** [program, args...] that runs the target's node here: directly, or under qemu-user. */
export function nodeCommand(arch) {
  const node = runtimeBinary(arch);
  if (arch === hostTarget()) return [node];
  const emu = EMULATORS[arch];
  if (!emu || hostTarget() !== 'x64') throw new Error(`cannot run a ${arch} node on this ${hostTarget()} machine`);
  return [emu.qemu, '-L', emu.sysroot, node];
}

/** How to run any program built for the target (the built executable too). */
export function emulatorPrefix(arch) {
  if (arch === hostTarget()) return [];
  const emu = EMULATORS[arch];
  if (!emu) throw new Error(`no emulator for ${arch}`);
  return [emu.qemu, '-L', emu.sysroot];
}

/** A strip that understands the target's ELF. */
export function stripTool(arch) {
  return arch === hostTarget() ? 'strip' : EMULATORS[arch].strip;
}
