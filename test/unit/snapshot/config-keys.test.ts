/** The SNAPSHOT_* keys: their values, and which layer may set them (the trust root only the local file). */
import { buildLayered, fileLayer, ssmLayer } from '../../../src/config/layers';
import { parseConfigText } from '../../../src/config/parse';

const FILE = '/etc/iam-ssh.conf';
const PATH = '/iam-ssh/prod/';
const file = (text: string) => fileLayer(FILE, parseConfigText(text, FILE));
const ssm = (key: string, value: string) => ssmLayer(PATH, [{ name: `${PATH}${key}`, value, type: 'String' }]).layer;

describe('SNAPSHOT_* settings', () => {
  test('defaults: no snapshot, 1h max age, no fallback', () => {
    const { config } = buildLayered([file('')]);
    expect(config).toMatchObject({ snapshotUrl: null, snapshotKmsKey: null, snapshotPublicKey: null, snapshotMaxAgeMs: 3_600_000, snapshotFallback: 'none' });
  });

  test('valid values from the file', () => {
    const { config } = buildLayered([file('SNAPSHOT_URL=s3://fleet-access/prod/access.json\nSNAPSHOT_KMS_KEY=alias/iam-ssh\nSNAPSHOT_PUBLIC_KEY=/etc/iam-ssh/k.pem\nSNAPSHOT_MAX_AGE=10m\nSNAPSHOT_FALLBACK=iam\n')]);
    expect(config).toMatchObject({ snapshotUrl: 's3://fleet-access/prod/access.json', snapshotKmsKey: 'alias/iam-ssh', snapshotPublicKey: '/etc/iam-ssh/k.pem', snapshotMaxAgeMs: 600_000, snapshotFallback: 'iam' });
    for (const k of ['arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', '1234abcd-12ab-34cd-56ef-1234567890ab', 'arn:aws:kms:eu-west-1:123456789012:alias/x']) {
      expect(buildLayered([file(`SNAPSHOT_KMS_KEY=${k}\n`)]).config.snapshotKmsKey).toBe(k);
    }
  });

  test.each([
    ['SNAPSHOT_URL', 'https://fleet-access.s3.amazonaws.com/x'], ['SNAPSHOT_URL', 's3://fleet-access/'], ['SNAPSHOT_URL', 's3://fleet-access/../x'],
    ['SNAPSHOT_KMS_KEY', 'arn:aws:kms:nowhere'], ['SNAPSHOT_KMS_KEY', 'mykey'], ['SNAPSHOT_PUBLIC_KEY', 'relative.pem'], ['SNAPSHOT_MAX_AGE', '30s'], ['SNAPSHOT_MAX_AGE', '8d'], ['SNAPSHOT_FALLBACK', 'yes'],
  ])('%s=%s is refused', (key, value) => {
    expect(() => buildLayered([file(`${key}=${value}\n`)])).toThrow(new RegExp(key));
  });

  test('SSM may set the URL, the age and the fallback', () => {
    const { config } = buildLayered([file(''), ssm('SNAPSHOT_URL', 's3://fleet-access/prod/access.json'), ssm('SNAPSHOT_MAX_AGE', '2h'), ssm('SNAPSHOT_FALLBACK', 'iam')]);
    expect(config).toMatchObject({ snapshotUrl: 's3://fleet-access/prod/access.json', snapshotMaxAgeMs: 7_200_000, snapshotFallback: 'iam' });
  });

  test.each(['SNAPSHOT_PUBLIC_KEY', 'SNAPSHOT_KMS_KEY'])('%s from SSM is ignored: it is the trust root', (key) => {
    const { config, warnings } = buildLayered([file(''), ssm(key, key === 'SNAPSHOT_KMS_KEY' ? 'alias/evil' : '/tmp/evil.pem')]);
    expect([config.snapshotPublicKey, config.snapshotKmsKey]).toEqual([null, null]);
    expect(warnings).toEqual([`ssm:${PATH}${key}: ${key} can only be set in the local config file; ignored`]);
  });
});
