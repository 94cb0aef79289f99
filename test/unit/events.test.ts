import { createHash } from 'node:crypto';
import { envelopeFromStreamEntry, eventIdFor, EVENT_TYPES } from '../../shared/events';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('eventIdFor', () => {
  it('when given a source, then it answers a UUID in the version 5 (name-based, SHA-1) layout', () => {
    for (const source of ['events:{s1}/1712345678901-0', '', 'ünïcødé/0-1', 'x'.repeat(10_000)]) {
      expect(eventIdFor(source)).toMatch(UUID_V5);
    }
  });

  it('when given the same source twice, then it answers the same id (a relayed duplicate keeps its id)', () => {
    const source = 'events:{5a0c}/1712345678901-3';
    expect(eventIdFor(source)).toBe(eventIdFor(source));
  });

  it('when given different sources, then the ids differ, even for neighbouring entries', () => {
    const sources = [
      'events:{a}/1712345678901-0',
      'events:{a}/1712345678901-1',
      'events:{a}/1712345678902-0',
      'events:{b}/1712345678901-0',
    ];
    const ids = sources.map(eventIdFor);
    expect(new Set(ids).size).toBe(sources.length);
  });

  it('when given a source, then the id is its SHA-1 with only the version and variant bits set', () => {
    const source = 'events:{s1}/1-0';
    const sha1 = createHash('sha1').update(source).digest('hex');
    const id = eventIdFor(source).replaceAll('-', '');
    expect(id).toHaveLength(32);
    // Nibble 12 is the version (5); the top two bits of nibble 16 are the variant (10xx).
    expect(id.slice(0, 12)).toBe(sha1.slice(0, 12));
    expect(id[12]).toBe('5');
    expect(id.slice(13, 16)).toBe(sha1.slice(13, 16));
    expect(parseInt(id[16]!, 16) & 0b0011).toBe(parseInt(sha1[16]!, 16) & 0b0011);
    expect(parseInt(id[16]!, 16) & 0b1100).toBe(0b1000);
    expect(id.slice(17)).toBe(sha1.slice(17, 32));
  });
});

describe('envelopeFromStreamEntry', () => {
  const stream = 'events:{9d1f0b2e-0000-4000-8000-000000000001}';
  const entryId = '1712345678901-0';
  const fields = {
    type: 'hold.created',
    occurredAt: '1712345678901',
    data: JSON.stringify({ holdId: 'h1', seatIds: ['s1', 's2'], expiresAt: 1712345708901 }),
  };

  it('when given a recorded entry, then it answers the message body: id from the entry, ISO time, parsed data', () => {
    expect(envelopeFromStreamEntry(stream, entryId, fields)).toEqual({
      id: eventIdFor(`${stream}/${entryId}`),
      type: 'hold.created',
      occurredAt: '2024-04-05T19:34:38.901Z',
      data: { holdId: 'h1', seatIds: ['s1', 's2'], expiresAt: 1712345708901 },
    });
  });

  it('when the same entry is converted twice, then both bodies are equal (same id, so consumers dedupe)', () => {
    expect(envelopeFromStreamEntry(stream, entryId, fields)).toEqual(
      envelopeFromStreamEntry(stream, entryId, { ...fields }),
    );
  });

  it('when entries differ only in their stream or entry id, then their event ids differ', () => {
    const a = envelopeFromStreamEntry(stream, entryId, fields).id;
    expect(envelopeFromStreamEntry(stream, '1712345678901-1', fields).id).not.toBe(a);
    expect(envelopeFromStreamEntry('events:{other}', entryId, fields).id).not.toBe(a);
  });

  it('when occurredAt is epoch milliseconds, then the ISO time keeps the millisecond and parses back to it', () => {
    const { occurredAt } = envelopeFromStreamEntry(stream, entryId, { ...fields, occurredAt: '1' });
    expect(occurredAt).toBe('1970-01-01T00:00:00.001Z');
    expect(Date.parse(occurredAt)).toBe(1);
  });

  it('when the entry has no data field, then data is an empty object', () => {
    const { data } = envelopeFromStreamEntry(stream, entryId, {
      type: 'seat.released',
      occurredAt: '0',
    });
    expect(data).toEqual({});
  });

  it('when the entry has any documented type, then that type is passed through unchanged', () => {
    for (const type of EVENT_TYPES) {
      expect(envelopeFromStreamEntry(stream, entryId, { ...fields, type }).type).toBe(type);
    }
  });
});
