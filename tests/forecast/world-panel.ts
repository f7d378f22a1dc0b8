/**
 * A small generated world as the forecaster's panel (one row per product and day, the columns
 * of forecast/demand/panel.py), built from the generator's in-memory output the way the star
 * schema builds it: end-of-day stock, units on orders not cancelled by the order's UTC date,
 * the list price valid at the end of the day, line discounts. Lets the forecaster's properties
 * be tested in seconds without landing a world through MariaDB, CDC and dbt; the warehouse
 * path (store.py's query) is exercised by `npm run bench -- forecast` and the demo.
 */
import { writeFileSync } from 'node:fs';

import { cents, generateInMemory, type MemoryWorldOptions } from '../generator/memory-world.ts';

export interface PanelRow {
  product_id: number;
  day: string;
  units_sold: number;
  quantity_on_hand: number;
  price: number;
  category: string;
  is_active: boolean;
  discount_share: number;
}

const HEADER = ['product_id', 'day', 'units_sold', 'quantity_on_hand', 'price', 'category', 'is_active', 'discount_share'] as const;

export async function worldPanel(options: MemoryWorldOptions): Promise<PanelRow[]> {
  const world = await generateInMemory({ ...options, messageBodies: false });
  const sold = new Map<string, { units: number; gross: number; discount: number }>();
  for (const item of world.tables.order_items.values()) {
    const order = world.tables.orders.get(Number(item.order_id))!;
    if (order.status === 'cancelled') continue;
    const key = `${item.product_id}|${String(order.placed_at).slice(0, 10)}`;
    const s = sold.get(key) ?? { units: 0, gross: 0, discount: 0 };
    s.units += Number(item.quantity);
    s.gross += Number(item.quantity) * cents(item.unit_price);
    s.discount += cents(item.discount_amount);
    sold.set(key, s);
  }
  const product = new Map<number, { price: number; category: string; active: boolean }>();
  const onHand = new Map<number, number>();
  const rows: PanelRow[] = [];
  let day: string | undefined;
  const closeDay = (label: string) => {
    for (const [id, stock] of onHand) {
      const p = product.get(id)!;
      const s = sold.get(`${id}|${label}`);
      rows.push({
        product_id: id,
        day: label,
        units_sold: s?.units ?? 0,
        quantity_on_hand: stock,
        price: p.price,
        category: p.category,
        is_active: p.active,
        discount_share: s && s.gross > 0 ? s.discount / s.gross : 0,
      });
    }
  };
  for (const w of world.writes) {
    if (w.batch !== day) {
      if (day !== undefined) closeDay(day);
      day = w.batch;
    }
    const id = Number(w.row[0]);
    if (w.table === 'products') product.set(id, { price: Number(w.row[6]), category: String(w.row[3]), active: Number(w.row[8]) === 1 });
    if (w.table === 'inventory') onHand.set(id, Number(w.row[1]));
  }
  if (day !== undefined) closeDay(day);
  return rows;
}

export function writePanelCsv(path: string, rows: readonly PanelRow[]): void {
  const lines = [HEADER.join(',')];
  for (const r of rows) lines.push(HEADER.map((c) => (c === 'is_active' ? (r[c] ? 'true' : 'false') : String(r[c]))).join(','));
  writeFileSync(path, `${lines.join('\n')}\n`);
}
