// Builds the AWS Lambda form of `iam-ssh publish`: esbuild bundles src/publish/lambda.ts with
// the AWS SDK clients it uses into dist/lambda/index.js (runtime nodejs22.x, handler
// index.handler), and dist/lambda/iam-ssh-publisher.zip is that file alone, ready for the
// CodeBucket/CodeKey of deploy/iam-ssh-publisher.yaml. The zip is reproducible: fixed times,
// fixed mode, so the same source gives the same bytes (and the same CodeSha256).
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { Buffer } from 'node:buffer';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'lambda');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip of regular files (name -> bytes), deflated, dated 1980-01-01, mode 0644. */
function zipFiles(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const packed = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0, 10); // 00:00
    local.writeUInt16LE(0x21, 12); // 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(((0o100644 << 16) >>> 0), 38); // regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const t0 = Date.now();
mkdirSync(out, { recursive: true });
// Made aside and renamed into place: a test reading dist/lambda never sees half a file.
const work = mkdtempSync(join(out, '.build-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const bundle = join(work, 'index.js');
await build({
  entryPoints: [join(root, 'src/publish/lambda.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  loader: { '.service': 'text', '.timer': 'text' },
  define: { IAM_SSH_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});
const zip = join(work, 'iam-ssh-publisher.zip');
writeFileSync(zip, zipFiles([['index.js', readFileSync(bundle)]]));
renameSync(bundle, join(out, 'index.js'));
renameSync(zip, join(out, 'iam-ssh-publisher.zip'));
const kB = (f) => `${Math.round(statSync(f).size / 1024)} kB`;
console.log(`built ${join(out, 'iam-ssh-publisher.zip')} (${pkg.version}; index.js ${kB(join(out, 'index.js'))}, zip ${kB(join(out, 'iam-ssh-publisher.zip'))}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
