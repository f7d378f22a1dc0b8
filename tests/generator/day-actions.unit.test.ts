/** A day's actions come back in time order, ties in the order they were added, across growth. */
import { describe, expect, it } from 'vitest';

import { ActionKind, DayActions } from '../../generator/day-actions.ts';

describe('DayActions', () => {
  it('orders by time, keeps insertion order for equal times, and keeps kind and argument', () => {
    const actions = new DayActions();
    const added: { at: number; kind: ActionKind; arg: number }[] = [];
    // More than the initial capacity (1,024), with many equal times.
    for (let i = 0; i < 5_000; i++) {
      const entry = { at: 1_000 + ((i * 7919) % 97) + (i % 3 === 0 ? 0.5 : 0), kind: (i % 8) as ActionKind, arg: i * 1.5 };
      added.push(entry);
      actions.add(entry.at, entry.kind, entry.arg);
    }
    expect(actions.length).toBe(5_000);
    const expected = added.map((e, i) => ({ ...e, i })).sort((a, b) => a.at - b.at || a.i - b.i);
    const got = Array.from(actions.ordered(), (i) => ({ at: actions.at(i), kind: actions.kind(i), arg: actions.arg(i), i }));
    expect(got).toEqual(expected);
  });

  it('runs custom actions through their own closure', () => {
    const actions = new DayActions();
    const ran: string[] = [];
    actions.add(20, ActionKind.Browse);
    actions.addCustom({ at: 10, run: () => ran.push('first') });
    actions.addCustom({ at: 30, run: () => ran.push('second') });
    for (const i of actions.ordered()) if (actions.kind(i) === ActionKind.Custom) actions.custom(i)();
    expect(ran).toEqual(['first', 'second']);
  });
});
