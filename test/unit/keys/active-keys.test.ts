/**
 * readActiveKeys against an IamDirectory written out here: the emulator cannot count calls
 * per user inside one process, nor change a status between the list and the get.
 */
import { readActiveKeys } from '../../../src/keys/active-keys';
import type { IamDirectory, IamKeyBody } from '../../../src/aws/iam';
import { parsePublicKey } from '../../../src/util/ssh-key';
import { generateSshKey } from '../../helpers/ssh-wire';

function directory(keys: Record<string, IamKeyBody>, active: string[]): IamDirectory & { gets: string[] } {
  const calls: Record<string, number> = {};
  const gets: string[] = [];
  return {
    calls, gets,
    listGroupMembers: async () => [],
    listUsers: async () => [],
    listActiveKeyIds: async () => ((calls.ListSSHPublicKeys = (calls.ListSSHPublicKeys ?? 0) + 1), active),
    getKey: async (_user, id) => {
      calls.GetSSHPublicKey = (calls.GetSSHPublicKey ?? 0) + 1;
      gets.push(id);
      return keys[id]!;
    },
  };
}

const a = generateSshKey('ed25519', 'a@test').line;
const b = generateSshKey('ed25519', 'b@test').line;
const fp = (line: string) => (parsePublicKey(line) as { ok: true; key: { fingerprint: string } }).key.fingerprint;

test('fetches only the bodies of key ids it does not know yet, in IAM order', async () => {
  const iam = directory({ K1: { id: 'K1', status: 'Active', body: a }, K2: { id: 'K2', status: 'Active', body: b } }, ['K1', 'K2']);
  const known = [{ id: 'K2', line: b, fingerprint: fp(b) }, { id: 'KOLD', line: a, fingerprint: fp(a) }];
  const r = await readActiveKeys(iam, 'Alice', known);
  expect(r.keys.map((k) => k.id)).toEqual(['K1', 'K2']);
  expect(iam.gets).toEqual(['K1']);
  expect(iam.calls).toEqual({ ListSSHPublicKeys: 1, GetSSHPublicKey: 1 });
});

test('drops invalid bodies with the reason, and keys deactivated between the list and the get', async () => {
  const iam = directory({
    K1: { id: 'K1', status: 'Active', body: `command="/bin/sh" ${a}` },
    K2: { id: 'K2', status: 'Inactive', body: b },
    K3: { id: 'K3', status: 'Active', body: b },
  }, ['K1', 'K2', 'K3']);
  const r = await readActiveKeys(iam, 'Alice', []);
  expect(r.keys.map((k) => k.id)).toEqual(['K3']);
  expect(r.dropped.map((d) => d.keyId)).toEqual(['K1']);
  expect(r.dropped[0]!.reason.length).toBeGreaterThan(0);
});

test('a failing list fails the whole read (the caller keeps what it had)', async () => {
  const iam = directory({}, []);
  iam.listActiveKeyIds = async () => { throw new Error('Throttling: Rate exceeded'); };
  await expect(readActiveKeys(iam, 'Alice', [])).rejects.toThrow(/Rate exceeded/);
});
