/**
 * npm run dashboards [-- up|down|status|export|screenshots] — the local Superset with
 * ShopFlow's dashboards as code.
 */
import { parseArgs } from 'node:util';

import { runCli, type CliContext } from '../lib/cli/run.ts';
import { UsageError, coerceError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';

const HELP = `Usage: npm run dashboards -- [command] [flags]

Commands:
  up            (default) install Superset into its venv if needed, register the warehouse as
                bi_reader, import the bundle in dashboards/bundle (overwrite by uuid), start the
                web server detached and print its URL. Safe to run again.
  install       only install (or update) Superset's venv from the pinned requirements
  down          stop the web server this project started
  status        say whether it is running and healthy
  export        write the dashboards as they are now in Superset back into dashboards/bundle
  screenshots   render a PNG of every dashboard into docs/img/ (needs Debian chromium)

Flags:
  --no-import   (up) start the server without re-importing the bundle
  --out DIR     (screenshots) output directory, default docs/img
  -h, --help    show this help

Environment (defaults in lib/config/schema.ts):
  SUPERSET_VENV            venv for Superset (default .data/superset-venv)
  SUPERSET_PORT            web server port on 127.0.0.1 (default 8088)
  SUPERSET_ADMIN_USER      admin login (default admin)
  SUPERSET_ADMIN_PASSWORD  admin password (default admin)
  SUPERSET_SECRET_KEY      signs sessions, encrypts stored passwords (>= 16 chars)
  SHOPFLOW_DATA_DIR        metadata, pid file and log go under <dir>/superset (default .data)
  WAREHOUSE_URL, WAREHOUSE_BI_PASSWORD   the warehouse Superset reads as bi_reader
  LOG_LEVEL                pino level (default info)
`;

const COMMANDS = ['up', 'install', 'down', 'status', 'export', 'screenshots'] as const;
type Command = (typeof COMMANDS)[number];

function parse(argv: string[]): { command: Command; noImport: boolean; out?: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'no-import': { type: 'boolean' },
        out: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError(coerceError(error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`expected one command, got: ${positionals.join(' ')}`);
  const command = (positionals[0] ?? 'up') as Command;
  if (!COMMANDS.includes(command)) throw new UsageError(`unknown command "${command}"; expected one of ${COMMANDS.join(', ')}`);
  return { command, noImport: values['no-import'] === true, ...(values.out ? { out: values.out } : {}) };
}

async function main(argv: string[], context: CliContext): Promise<number> {
  const args = parse(argv);
  const config = context.config();
  const logger = createLogger('dashboards', config);
  switch (args.command) {
    case 'up': {
      const { dashboardsUp } = await import('./lib/up.ts');
      const result = await dashboardsUp(config, logger, { importBundle: !args.noImport });
      process.stdout.write(`${result.summary}\n`);
      return 0;
    }
    case 'install': {
      const { ensureSupersetVenv } = await import('./lib/venv.ts');
      const { installed, seconds } = await ensureSupersetVenv(config, logger);
      process.stdout.write(installed ? `Superset venv installed in ${seconds.toFixed(0)} s.\n` : 'Superset venv is up to date.\n');
      return 0;
    }
    case 'down': {
      const { stopServer } = await import('./lib/server.ts');
      const { stopped } = await stopServer(config, logger);
      process.stdout.write(stopped ? 'Superset stopped.\n' : 'Superset was not running (nothing to stop).\n');
      return 0;
    }
    case 'status': {
      const { serverStatus } = await import('./lib/server.ts');
      const status = await serverStatus(config);
      process.stdout.write(
        status.running
          ? `Superset is running (pid ${status.pid}) at ${status.url}, ${status.healthy ? 'healthy' : 'NOT answering /health'}\n`
          : `Superset is not running at ${status.url}: start it with \`npm run dashboards\`.\n`,
      );
      return status.running && status.healthy ? 0 : status.running ? 1 : 69;
    }
    case 'export': {
      const { exportBundle } = await import('./lib/export.ts');
      const written = await exportBundle(config, logger);
      process.stdout.write(`Wrote ${written.files} files into ${written.dir}; review with git diff.\n`);
      return 0;
    }
    case 'screenshots': {
      const { renderScreenshots } = await import('./screenshots.ts');
      const files = await renderScreenshots(config, logger, args.out ? { outDir: args.out } : {});
      process.stdout.write(`${files.map((f) => `  ${f}`).join('\n')}\n`);
      return 0;
    }
  }
}

await runCli({ name: 'dashboards', help: HELP, main });
