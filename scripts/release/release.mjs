// `npm run release`: every release artifact into dist/release/ (or --out DIR), from this commit.
//   iam-ssh-linux-x64, iam-ssh-linux-arm64         the executables (pinned Node, runtime.json)
//   iam-ssh_<v>_amd64.deb, iam-ssh_<v>_arm64.deb   Debian packages
//   iam-ssh-<v>-1.x86_64.rpm, iam-ssh-<v>-1.aarch64.rpm
//   iam-ssh.cdx.json                               CycloneDX SBOM
//   SHA256SUMS                                     the sha256 of each file above
//   SHA256SUMS.asc, release-key.asc                signature and its public key (IAM_SSH_SIGNING_KEY)
// Reproducible: SOURCE_DATE_EPOCH (default: the commit's time) fixes every timestamp, and two
// runs from the same commit give the same bytes (test/release/release.test.ts checks it).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildExecutable, sourceCommit } from '../build.mjs';
import { PINNED, ROOT, TARGETS, runtimeBinary } from './runtime.mjs';
import { buildPackages } from './packages.mjs';
import { makeSbom } from './sbom.mjs';
import { signSums } from './sign.mjs';

export const SBOM = 'iam-ssh.cdx.json';
export const executableName = (arch) => `iam-ssh-linux-${arch}`;

function commitEpoch() {
  const fromEnv = process.env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined) {
    if (!/^\d{1,12}$/.test(fromEnv)) throw new Error(`SOURCE_DATE_EPOCH must be a number of seconds, not ${JSON.stringify(fromEnv)}`);
    return Number(fromEnv);
  }
  return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim());
}

function parseArgs(argv) {
  let out = join(ROOT, 'dist', 'release');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) out = resolve(argv[++i]);
    else throw new Error(`usage: release.mjs [--out DIR]; not ${JSON.stringify(argv[i])}`);
  }
  return { out };
}

export async function release({ out, log = console.log }) {
  const t0 = Date.now();
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const epoch = commitEpoch();
  const commit = sourceCommit();
  // Built beside the output and renamed into place, so a reader never sees half a release.
  mkdirSync(join(out, '..'), { recursive: true });
  const staging = mkdtempSync(`${out}.new-`);
  const work = mkdtempSync(`${out}.work-`);
  try {
    const inputs = new Set();
    const files = [];
    for (const arch of TARGETS) {
      const name = executableName(arch);
      const s = await buildExecutable({ arch, out: join(staging, name), commit });
      utimesSync(join(staging, name), epoch, epoch);
      for (const i of s.inputs) inputs.add(i);
      log(`${name}: ${(s.executable / 1048576).toFixed(1)} MiB (Node ${PINNED.version}; login bundle ${Math.round(s.loginBundle / 1024)} kB, full bundle ${Math.round(s.fullBundle / 1024)} kB)`);
      const nodeLicense = join(runtimeBinary(arch), '..', '..', 'LICENSE');
      files.push(name, ...buildPackages({ arch, version: pkg.version, executable: join(staging, name), nodeLicense, outDir: staging, epoch, workDir: work }));
    }
    writeFileSync(join(staging, SBOM), JSON.stringify(makeSbom({ version: pkg.version, commit, epoch, inputs: [...inputs] }), null, 2) + '\n');
    files.push(SBOM);
    files.sort();
    const sums = files.map((f) => `${createHash('sha256').update(readFileSync(join(staging, f))).digest('hex')}  ${f}\n`).join('');
    writeFileSync(join(staging, 'SHA256SUMS'), sums);
    const signed = signSums(staging);
    for (const f of readdirSync(staging)) utimesSync(join(staging, f), epoch, epoch);
    chmodSync(staging, 0o755);
    rmSync(out, { recursive: true, force: true });
    renameSync(staging, out);
    log(signed ? `signed SHA256SUMS: ${signed.join(', ')}` : 'UNSIGNED local build: IAM_SSH_SIGNING_KEY is not set, so there is no SHA256SUMS.asc');
    log(`release ${pkg.version} (${commit}) in ${out}: ${files.length} files in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return { files, signed: Boolean(signed), commit, epoch };
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await release(parseArgs(process.argv.slice(2)));
}
