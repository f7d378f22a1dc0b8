/** Terminal output for the demo: numbered steps with timings, readable in a terminal and in CI logs. */
import { performance } from 'node:perf_hooks';

const useColor = process.stdout.isTTY === true;
const paint = (code: number, text: string) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);
export const bold = (text: string) => paint(1, text);
export const dim = (text: string) => paint(2, text);
export const green = (text: string) => paint(32, text);
export const red = (text: string) => paint(31, text);
export const yellow = (text: string) => paint(33, text);

export class StepPrinter {
  #index = 0;
  constructor(readonly total: number) {}

  async step<T>(title: string, work: () => Promise<T>, describe?: (result: T) => string): Promise<T> {
    this.#index++;
    const label = `[${this.#index}/${this.total}] ${title}`;
    process.stdout.write(`${bold('▶')} ${label}\n`);
    const start = performance.now();
    try {
      const result = await work();
      const seconds = ((performance.now() - start) / 1000).toFixed(1);
      const detail = describe ? ` ${dim(describe(result))}` : '';
      process.stdout.write(`${green('✔')} ${label} ${dim(`(${seconds}s)`)}${detail}\n`);
      return result;
    } catch (error) {
      const seconds = ((performance.now() - start) / 1000).toFixed(1);
      process.stdout.write(`${red('✘')} ${label} ${dim(`(${seconds}s)`)}\n`);
      throw error;
    }
  }
}

/** Plain-text table with right-aligned numbers. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (typeof cell === 'number' ? cell.toLocaleString('en-US') : cell)))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => String(row[column] ?? '').length)));
  const line = (row: (string | number)[], header = false) =>
    row
      .map((cell, column) => {
        const text = String(cell ?? '');
        const numeric = !header && typeof rows[0]?.[column] === 'number';
        return numeric ? text.padStart(widths[column]!) : text.padEnd(widths[column]!);
      })
      .join('  ');
  return [line(headers, true), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map((row) => line(row))].join('\n');
}
