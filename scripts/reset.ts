/** `npm run reset`: empty the shop, the topic and the warehouse; keep every install (scripts/reset/). */
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';

import { EXIT } from '../lib/cli/exit-codes.ts';
import { runCli } from '../lib/cli/run.ts';
import { UsageError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { resetInstallation } from './reset/index.ts';

const HELP = `Usage: npm run reset -- [--yes]

Back to an empty installation, keeping everything installed:
  - stops the ingestors working on the warehouse (SIGTERM to the processes holding their
    warehouse sessions; a running scheduler must be stopped first, it would restart them)
  - the shop database: the shop tables dropped and created empty
  - Kafka: the clickstream topic deleted and created empty, its consumer group deleted
  - the warehouse: raw.*, ingest.* (positions, offsets) and ops.* (run ledger) emptied, every
    table and view dbt built dropped; roles, schemas and grants stay
Kept: .data/kafka/lib (the broker's jars), the Python venvs, Superset and its dashboards, mail.
Then: npm run generate, the ingestors (or npm run demo) and npm run dbt -- build.

Flags:
  --yes           do not ask (for scripts); without it, reset asks on a terminal and refuses otherwise
  -V, --version   print the version
  -h, --help      show this help

Environment: WAREHOUSE_URL (as the superuser), SHOP_DB_URL, KAFKA_BROKERS, KAFKA_TOPIC,
KAFKA_PARTITIONS, KAFKA_GROUP_ID (.env.example).`;

await runCli({
  name: 'reset',
  help: HELP,
  async main(argv, context) {
    let yes: boolean;
    try {
      yes = parseArgs({ args: argv, options: { yes: { type: 'boolean', default: false } }, strict: true, allowPositionals: false }).values
        .yes;
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const config = context.config();
    const logger = createLogger('reset', config);
    const targets = `shop database ${new URL(config.SHOP_DB_URL).host}${new URL(config.SHOP_DB_URL).pathname}, topic ${config.KAFKA_TOPIC} on ${config.KAFKA_BROKERS.join(',')}, warehouse ${new URL(config.WAREHOUSE_URL).host}${new URL(config.WAREHOUSE_URL).pathname}`;
    if (!yes) {
      if (!process.stdin.isTTY) throw new UsageError('reset deletes data: pass --yes to confirm when not on a terminal');
      const prompt = createInterface({ input: process.stdin, output: process.stdout });
      const answer = await prompt.question(`This empties the ${targets}.\nType "reset" to go on: `);
      prompt.close();
      if (answer.trim() !== 'reset') {
        process.stdout.write('Nothing changed.\n');
        return EXIT.failed;
      }
    }
    await resetInstallation(config, logger, { onStep: (step, detail) => process.stdout.write(`${step.padEnd(10)} ${detail}\n`) });
    process.stdout.write('Reset done. Next: npm run generate, then the ingestors and npm run dbt -- build (or npm run demo).\n');
    return EXIT.ok;
  },
});
