/**
 * The clickstream contract as Postgres columns: every field an event can carry (schema.ts), in
 * one fixed order, with the type raw.shop_events stores it as. The Kafka ingestor writes its
 * COPY lines in this order (ingest/kafka/decode.ts), the warehouse migration creates these
 * columns (lib/warehouse/migrations/0150_shop_events_typed_partitioned.sql) and
 * tests/lib/events/columns.test.ts compares the live table with this list, so a field added to
 * the schema fails that test until the migration and the ingestor carry it.
 *
 * Types come from bounds.ts (integers, money) so the range the schema admits is the range the
 * column holds: a row that passes the ingestor cannot fail COPY or staging.
 */
import { INTEGER_BOUNDS, MONEY, MONEY_FIELDS, type IntegerField } from './bounds.ts';
import { shopEvent } from './schema.ts';

export interface EventColumn {
  /** The JSON field and the column: the same name. */
  name: string;
  /** The Postgres type, as information_schema's format_type spells it. */
  pgType: string;
}

const MONEY_TYPE = `numeric(${MONEY.precision},${MONEY.scale})`;
const MONEY_SET: ReadonlySet<string> = new Set(MONEY_FIELDS);

function pgTypeOf(field: string): string {
  if (Object.hasOwn(INTEGER_BOUNDS, field)) return INTEGER_BOUNDS[field as IntegerField].pgType;
  if (MONEY_SET.has(field)) return MONEY_TYPE;
  if (field === 'event_time') return 'timestamp with time zone';
  return 'text';
}

/** Every field of every event type, in the order the base event and then the types declare them. */
function contractFields(): string[] {
  const fields: string[] = [];
  for (const option of shopEvent.options) for (const key of Object.keys(option.shape)) if (!fields.includes(key)) fields.push(key);
  return fields;
}

/** All contract fields as columns (event_id, event_type and event_time included). */
export const EVENT_FIELD_COLUMNS: readonly EventColumn[] = contractFields().map((name) => ({ name, pgType: pgTypeOf(name) }));

/**
 * The fields beyond the three the envelope already names (event_id, event_type, event_time):
 * the typed body of an event, nullable because a type carries only its own fields.
 */
export const EVENT_BODY_COLUMNS: readonly EventColumn[] = EVENT_FIELD_COLUMNS.filter(
  (c) => c.name !== 'event_id' && c.name !== 'event_type' && c.name !== 'event_time',
);
