/**
 * Test ords by test key (32 hex characters: 128 bits of a SHA-256), for the ords a process
 * keeps per project (KnownOrds). A Map keyed by the key strings cost 0.5-0.7 µs for every
 * key it did not hold once it held 150,000 (a miss walks a bucket chain of key strings
 * spread over the heap), which every new test of an upload paid twice (asked, then
 * learned); here the keys are 4 words each in one typed array, found by open addressing
 * (linear probing from the key's first word: the keys are hash output, evenly spread), at
 * about 20 bytes a test instead of ~150.
 */
export class OrdTable {
  /** Per slot: the ord + 1 (0: empty), then the key's 4 words; one cache line or two. */
  #slots: Int32Array;
  #mask: number;
  #size = 0;

  constructor(expected = 0) {
    let slots = 1024;
    while (slots < expected * 2) slots *= 2;
    this.#slots = new Int32Array(slots * SLOT);
    this.#mask = slots - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** The ord of `key`; undefined when absent (or not a test key). */
  get(key: string): number | undefined {
    if (!readKey(key)) return undefined;
    const at = this.#find(w[0]!, w[1]!, w[2]!, w[3]!);
    const ord = this.#slots[at]! - 1;
    return ord < 0 ? undefined : ord;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Sets the ord of `key` (a test key, lowercase or uppercase hex; ord ≥ 0). */
  set(key: string, ord: number): void {
    if (!readKey(key)) throw new Error(`not a test key: ${key}`);
    if (!Number.isInteger(ord) || ord < 0 || ord >= 0x7fffffff)
      throw new Error(`not an ord: ${ord}`);
    if ((this.#size + 1) * 2 > this.#slots.length / SLOT) this.#grow();
    this.#put(w[0]!, w[1]!, w[2]!, w[3]!, ord);
  }

  /** Where the key's slot starts, or the empty slot where it would go. */
  #find(a: number, b: number, c: number, d: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let slot = a & mask; ; slot = (slot + 1) & mask) {
      const at = slot * SLOT;
      if (slots[at] === 0) return at;
      if (slots[at + 1] === a && slots[at + 2] === b && slots[at + 3] === c && slots[at + 4] === d)
        return at;
    }
  }

  #put(a: number, b: number, c: number, d: number, ord: number) {
    const slots = this.#slots;
    const at = this.#find(a, b, c, d);
    if (slots[at] === 0) {
      this.#size++;
      slots[at + 1] = a;
      slots[at + 2] = b;
      slots[at + 3] = c;
      slots[at + 4] = d;
    }
    slots[at] = ord + 1;
  }

  #grow() {
    const old = this.#slots;
    this.#slots = new Int32Array(old.length * 2);
    this.#mask = (old.length / SLOT) * 2 - 1;
    this.#size = 0;
    for (let at = 0; at < old.length; at += SLOT)
      if (old[at] !== 0)
        this.#put(old[at + 1]!, old[at + 2]!, old[at + 3]!, old[at + 4]!, old[at]! - 1);
  }
}

/** Words per slot. */
const SLOT = 5;

/** Each character code's hex digit value, 16 when it is not one. */
const HEX = new Uint8Array(65536).fill(16);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[97 + c] = HEX[65 + c] = 10 + c;

/** The words of the key read last (readKey). */
const w = new Int32Array(4);

/** Reads a test key's 4 words into `w`; false when it is not 32 hex characters. */
function readKey(key: string): boolean {
  if (key.length !== 32) return false;
  let bad = 0;
  for (let k = 0; k < 4; k++) {
    let v = 0;
    for (let i = k * 8; i < k * 8 + 8; i++) {
      const n = HEX[key.charCodeAt(i)]!;
      bad |= n;
      v = (v << 4) | (n & 15);
    }
    w[k] = v;
  }
  return (bad & 16) === 0;
}
