/** doctor's access-snapshot line: the pinned key, the serial, its age, the last fetch. */
import { checkSnapshot } from '../../../src/doctor/checks-snapshot';
import { checkTable } from '../../helpers/doctor-fixtures';
import type { DoctorFacts } from '../../../src/doctor/facts';

const with_ = (f: DoctorFacts, generatedAgoMs: number, lastResult = 'applied', publicKeyError: string | null = null) => {
  f.snapshot = {
    url: 's3://fleet-access/prod/access.json', maxAgeMs: 3_600_000, publicKeyError,
    state: { version: 1, url: 's3://fleet-access/prod/access.json', serial: 1_796_000_000, sha256: 'a'.repeat(64), generatedAt: new Date(f.now - generatedAgoMs).toISOString(), etag: '"x"', lastFetch: new Date(f.now - 30_000).toISOString(), lastResult },
  };
};

checkTable('checkSnapshot', checkSnapshot, [
  ['not set: skipped', () => {}, 'skip', /SNAPSHOT_URL is not set/],
  ['a fresh snapshot applied', (f) => with_(f, 600_000), 'ok', /serial 1796000000, signature verified, generated 10 min ago; last fetch 30 s ago: applied/],
  ['a 304 on a fresh snapshot', (f) => with_(f, 600_000, 'not modified'), 'ok', /not modified/],
  ['older than SNAPSHOT_MAX_AGE: frozen', (f) => with_(f, 2 * 3_600_000), 'fail', /more than SNAPSHOT_MAX_AGE/, /publisher/],
  ['the last fetch was refused', (f) => with_(f, 600_000, 'refused: the manifest signature does not verify with the pinned public key'), 'fail', /refused: the manifest signature/],
  ['the pinned key does not load', (f) => with_(f, 600_000, 'applied', 'SNAPSHOT_PUBLIC_KEY /etc/k.pem is not a readable regular file'), 'fail', /not a readable regular file/, /get-public-key/],
  ['nothing accepted yet', (f) => { with_(f, 0); f.snapshot!.state = null; }, 'warn', /no snapshot .* accepted/],
]);
