import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { hashUid, stableUid } from '../../../src/sync/uid';

const MIN = 200_000;
const MAX = 2_147_483_647;
const ID = 'AIDAEXAMPLE0000000001';

/** The documented algorithm, written out independently: SHA-256, first 48 bits, reduced into [min, max]. */
function reference(input: string, min: number, max: number): number {
  const n = createHash('sha256').update(input).digest().readUIntBE(0, 6);
  return min + (n % (max - min + 1));
}

describe('hashUid', () => {
  test('pinned values: a UID must never change between versions (fleet and EFS stability)', () => {
    expect(hashUid(ID, 0, MIN, MAX)).toBe(1_932_426_804);
    expect(hashUid(ID, 1, MIN, MAX)).toBe(1_582_083_535);
    expect(hashUid(ID, 0, 1000, 1999)).toBe(1460);
  });

  test.each([
    [ID, 0, ID],
    [ID, 1, `${ID}#1`],
    [ID, 2, `${ID}#2`],
    ['AIDAOTHER', 63, 'AIDAOTHER#63'],
  ])('%s attempt %d hashes %j', (id, attempt, input) => {
    expect(hashUid(id, attempt, MIN, MAX)).toBe(reference(input, MIN, MAX));
    expect(hashUid(id, attempt, 1000, 1009)).toBe(reference(input, 1000, 1009));
  });

  test('min === max yields min', () => {
    expect(hashUid(ID, 0, 4242, 4242)).toBe(4242);
    expect(hashUid('x', 7, 4242, 4242)).toBe(4242);
  });

  test('different ids and different attempts give different UIDs in a wide range', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `AIDA${i.toString().padStart(17, '0')}`);
    expect(new Set(ids.map((id) => hashUid(id, 0, MIN, MAX))).size).toBe(ids.length);
    expect(new Set(Array.from({ length: 64 }, (_, k) => hashUid(ID, k, MIN, MAX))).size).toBe(64);
  });

  test('property: always an integer within [min, max], and deterministic', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(100), fc.integer({ min: 1000, max: MAX }), fc.nat(1_000_000), (id, attempt, min, width) => {
        const max = Math.min(MAX, min + width);
        const uid = hashUid(id, attempt, min, max);
        expect(Number.isInteger(uid)).toBe(true);
        expect(uid).toBeGreaterThanOrEqual(min);
        expect(uid).toBeLessThanOrEqual(max);
        expect(hashUid(id, attempt, min, max)).toBe(uid);
      }),
    );
  });
});

describe('stableUid', () => {
  test('the attempt-0 hash when nothing is taken', () => {
    expect(stableUid(ID, MIN, MAX, new Set())).toBe(hashUid(ID, 0, MIN, MAX));
  });

  test('same id -> same UID whatever else is taken (fleet stability)', () => {
    const a = stableUid(ID, MIN, MAX, new Set([MIN, MIN + 1, 1_000_000]));
    const b = stableUid(ID, MIN, MAX, new Set([5, 6, 2_000_000_000]));
    expect(a).toBe(b);
    expect(a).toBe(1_932_426_804);
  });

  test('a taken UID moves to the next probe, deterministically', () => {
    const first = hashUid(ID, 0, MIN, MAX);
    const taken = new Set([first]);
    expect(stableUid(ID, MIN, MAX, taken)).toBe(hashUid(ID, 1, MIN, MAX));
    expect(stableUid(ID, MIN, MAX, new Set([first]))).toBe(stableUid(ID, MIN, MAX, taken));
    expect(stableUid(ID, MIN, MAX, new Set([first, hashUid(ID, 1, MIN, MAX)]))).toBe(hashUid(ID, 2, MIN, MAX));
  });

  test('does not modify the taken set', () => {
    const taken = new Set([hashUid(ID, 0, MIN, MAX)]);
    stableUid(ID, MIN, MAX, taken);
    expect([...taken]).toEqual([hashUid(ID, 0, MIN, MAX)]);
  });

  test.each([65534, 65535])('never returns %d (nobody / "no user")', (reserved) => {
    expect(stableUid(ID, reserved, reserved, new Set())).toBeNull();
  });

  test('in a range of the two reserved UIDs and one other, the other is always chosen', () => {
    expect(stableUid(ID, 65533, 65535, new Set())).toBe(65533);
    expect(stableUid('AIDAOTHER', 65534, 65536, new Set())).toBe(65536);
    expect(stableUid(ID, 65534, 65536, new Set([65536]))).toBeNull();
  });

  test('null when every probe collides', () => {
    expect(stableUid(ID, 5000, 5000, new Set([5000]))).toBeNull();
    expect(stableUid(ID, 5000, 5001, new Set([5000, 5001]))).toBeNull();
  });

  test('probes more than once: the only free UID of a small range is found', () => {
    // 4 values, 3 taken: 64 probes miss the free one with probability (3/4)^64, and this id is checked
    const range = [7000, 7001, 7002, 7003];
    for (const free of range) {
      const uid = stableUid(ID, 7000, 7003, new Set(range.filter((u) => u !== free)));
      expect(uid).toBe(free);
    }
  });

  test('gives up after 64 probes', () => {
    // a range where the first 64 probes of this id all land on taken values, the 65th would not
    const min = 10_000;
    const max = 10_099;
    const probes = new Set(Array.from({ length: 64 }, (_, k) => hashUid(ID, k, min, max)));
    expect(stableUid(ID, min, max, probes)).toBeNull();
    const fewer = new Set(Array.from({ length: 63 }, (_, k) => hashUid(ID, k, min, max)));
    const last = hashUid(ID, 63, min, max);
    expect(stableUid(ID, min, max, fewer)).toBe(fewer.has(last) ? null : last);
  });

  test('property: null, or the first free, non-reserved probe within range', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.integer({ min: 60_000, max: 70_000 }),
        fc.nat(20),
        fc.array(fc.nat(20)),
        (id, min, width, offsets) => {
          const max = min + width;
          const taken = new Set(offsets.map((o) => min + o));
          const uid = stableUid(id, min, max, taken);
          const expected = Array.from({ length: 64 }, (_, k) => hashUid(id, k, min, max)).find((u) => !taken.has(u) && u !== 65534 && u !== 65535);
          expect(uid).toBe(expected ?? null);
          if (uid !== null) {
            expect(uid).toBeGreaterThanOrEqual(min);
            expect(uid).toBeLessThanOrEqual(max);
          }
        },
      ),
    );
  });
});
