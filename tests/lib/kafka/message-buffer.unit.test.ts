/** Messages packed into one transferable buffer come back byte for byte, however many and however long. */
import { describe, expect, it } from 'vitest';

import { decodeMessages, MessageBuffer } from '../../../lib/kafka/message-buffer.ts';

describe('MessageBuffer', () => {
  it('round-trips keys and values (ASCII, multi-byte, empty, large) across growth and reuse', () => {
    const buffer = new MessageBuffer(64, 2);
    for (let round = 0; round < 2; round++) {
      const sent = [
        { key: 'session-1', value: '{"a":1}' },
        { key: 'ключ-鍵-🔑', value: 'ünïcødé {"price":-1}' },
        { key: '', value: '' },
        { key: 'big', value: 'x'.repeat(200_000) },
        ...Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, value: `{"i":${i},"round":${round}}` })),
      ];
      for (const m of sent) buffer.append(m.key, m.value);
      expect(buffer.count).toBe(sent.length);
      const taken = buffer.take();
      expect(buffer.count).toBe(0);
      expect(decodeMessages(taken).map((m) => ({ key: m.key.toString('utf8'), value: m.value.toString('utf8') }))).toEqual(sent);
    }
  });
});
