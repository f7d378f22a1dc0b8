/**
 * A simulated day's to-do list: what happens when (sign-ups, orders, browsing sessions, moves,
 * price changes, ...), run in time order. A busy day of a 10x world has ~25,000 entries; as
 * closures in objects they took ~300 bytes each (7.5 MB of heap per day), so an entry here is a
 * time, a kind and one number in typed arrays. Rare entries (anomalies) keep a closure.
 */

/** What an entry does; `arg` is the index or value the kind needs. */
export const ActionKind = {
  Launch: 0,
  SignUp: 1,
  Order: 2,
  Browse: 3,
  Move: 4,
  ChangeEmail: 5,
  Reprice: 6,
  Discontinue: 7,
  Custom: 8,
  Promote: 9,
} as const;
export type ActionKind = (typeof ActionKind)[keyof typeof ActionKind];

export interface Action {
  at: number;
  run: () => void;
}

export class DayActions {
  #at = new Float64Array(1024);
  #kind = new Uint8Array(1024);
  #arg = new Float64Array(1024);
  #custom: (() => void)[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  add(at: number, kind: ActionKind, arg = 0): void {
    if (this.#length === this.#at.length) this.#grow();
    const i = this.#length++;
    this.#at[i] = at;
    this.#kind[i] = kind;
    this.#arg[i] = arg;
  }

  /** An entry that runs its own closure (the argument is its index among them). */
  addCustom(action: Action): void {
    this.add(action.at, ActionKind.Custom, this.#custom.length);
    this.#custom.push(action.run);
  }

  /** Entry indexes by time; entries at the same time in the order they were added. */
  ordered(): Uint32Array {
    const order = new Uint32Array(this.#length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const at = this.#at;
    return order.sort((a, b) => at[a]! - at[b]! || a - b);
  }

  at(i: number): number {
    return this.#at[i]!;
  }

  kind(i: number): ActionKind {
    return this.#kind[i] as ActionKind;
  }

  arg(i: number): number {
    return this.#arg[i]!;
  }

  custom(i: number): () => void {
    return this.#custom[this.#arg[i]!]!;
  }

  #grow(): void {
    const size = this.#at.length * 2;
    const at = new Float64Array(size);
    at.set(this.#at);
    const kind = new Uint8Array(size);
    kind.set(this.#kind);
    const arg = new Float64Array(size);
    arg.set(this.#arg);
    this.#at = at;
    this.#kind = kind;
    this.#arg = arg;
  }
}
