/** publish's guards: MAX_REMOVALS, the empty read, unchanged versus refresh, --force. */
import { decidePublish, removedUsers } from '../../../src/publish/decide';
import { snapshot } from '../snapshot/fixtures';

const prev = snapshot(100, '2026-01-01T00:00:00.000Z');
const T0 = Date.parse(prev.generatedAt);
const s = { maxRemovals: 1, force: false, maxAgeMs: 3_600_000 };
const without = (...names: string[]) => ({ scope: prev.scope, users: prev.users.filter((u) => !names.includes(u.name)) });

describe('decidePublish', () => {
  test('the first snapshot is published', () => {
    expect(decidePublish(null, without(), T0, s)).toEqual({ kind: 'publish', reason: 'first', removed: [] });
  });
  test('an unchanged read stands until half of SNAPSHOT_MAX_AGE, then is written again', () => {
    expect(decidePublish(prev, without(), T0 + 60_000, s)).toEqual({ kind: 'unchanged' });
    expect(decidePublish(prev, without(), T0 + 1_800_000, s)).toMatchObject({ kind: 'publish', reason: 'refresh' });
    expect(decidePublish(prev, without(), T0 - 60_000, s)).toMatchObject({ kind: 'publish', reason: 'refresh' });
  });
  test('removals up to MAX_REMOVALS are published; more are refused unless forced', () => {
    expect(decidePublish(prev, without('bob'), T0, s)).toEqual({ kind: 'publish', reason: 'changed', removed: ['bob'] });
    expect(decidePublish(prev, without('bob'), T0, { ...s, maxRemovals: 0 })).toMatchObject({ kind: 'refused', removed: ['bob'], reason: expect.stringMatching(/MAX_REMOVALS/) });
    expect(decidePublish(prev, without('bob'), T0, { ...s, maxRemovals: 0, force: true })).toMatchObject({ kind: 'publish', reason: 'forced' });
  });
  test('a read with no user where the last had some is refused unless forced', () => {
    expect(decidePublish(prev, without('alice', 'bob'), T0, { ...s, maxRemovals: 5 })).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/no authorized user/) });
    expect(decidePublish(prev, without('alice', 'bob'), T0, { ...s, force: true })).toMatchObject({ kind: 'publish', removed: ['alice', 'bob'] });
  });
  test('a renamed user (same id) is not a removal', () => {
    const renamed = { scope: prev.scope, users: prev.users.map((u) => (u.name === 'bob' ? { ...u, name: 'bobby' } : u)) };
    expect(removedUsers(prev.users, renamed.users)).toEqual([]);
    expect(decidePublish(prev, renamed, T0, { ...s, maxRemovals: 0 })).toMatchObject({ kind: 'publish', reason: 'changed' });
  });
});
