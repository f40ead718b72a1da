// A CycloneDX 1.6 SBOM of what is inside the executables: the npm packages esbuild bundled
// (from its metafile inputs, with the version, license and integrity of the installed package)
// and the Node runtime of each target. Deterministic: no clock, a serial number derived from
// the content, components sorted.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PINNED, ROOT } from './runtime.mjs';

/** node_modules/<name>/ (or @scope/name) of a bundled input, the innermost one. */
export function packageDirOf(input) {
  const m = /^(.*node_modules\/)((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return m ? `${m[1]}${m[2]}` : null;
}

function purl(name, version) {
  return `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`;
}

function sha512Hex(integrity) {
  const m = /^sha512-(.+)$/.exec(integrity ?? '');
  return m ? [{ alg: 'SHA-512', content: Buffer.from(m[1], 'base64').toString('hex') }] : [];
}

function licenses(license) {
  if (typeof license !== 'string' || !license) return undefined;
  return /^[A-Za-z0-9.+-]+$/.test(license) ? [{ license: { id: license } }] : [{ expression: license }];
}

export function makeSbom({ version, commit, epoch, inputs }) {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages ?? {};
  const dirs = [...new Set(inputs.map(packageDirOf).filter(Boolean))].sort();
  const components = new Map();
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
    if (!pkg.name || !pkg.version) continue;
    const ref = purl(pkg.name, pkg.version);
    if (components.has(ref)) continue;
    const c = { type: 'library', 'bom-ref': ref, name: pkg.name, version: pkg.version, purl: ref, hashes: sha512Hex(lock[dir.slice(dir.indexOf('node_modules/'))]?.integrity) };
    const lic = licenses(pkg.license);
    if (lic) c.licenses = lic;
    if (!c.hashes.length) delete c.hashes;
    components.set(ref, c);
  }
  for (const [arch, t] of Object.entries(PINNED.targets)) {
    const ref = purl(t.package, PINNED.version);
    components.set(ref, {
      type: 'platform',
      'bom-ref': ref,
      name: t.package,
      version: PINNED.version,
      description: `Node.js runtime of iam-ssh-linux-${arch}`,
      purl: ref,
      hashes: sha512Hex(t.integrity),
      licenses: [{ license: { id: 'MIT' } }],
    });
  }
  const list = [...components.values()].sort((a, b) => (a['bom-ref'] < b['bom-ref'] ? -1 : 1));
  const app = { type: 'application', 'bom-ref': `pkg:generic/iam-ssh@${version}`, name: 'iam-ssh', version, licenses: [{ license: { id: 'MIT' } }], properties: [{ name: 'iam-ssh:commit', value: commit }] };
  const body = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    version: 1,
    metadata: { timestamp: new Date(epoch * 1000).toISOString().replace('.000Z', 'Z'), component: app },
    components: list,
    dependencies: [{ ref: app['bom-ref'], dependsOn: list.map((c) => c['bom-ref']) }],
  };
  const h = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  // A UUID (version 5 layout) from the content, so the same build gives the same serial number.
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return { bomFormat: body.bomFormat, specVersion: body.specVersion, serialNumber: `urn:uuid:${uuid}`, ...body };
}
