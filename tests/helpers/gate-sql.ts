/**
 * SQL exactly as the gate's suite modules (great_expectations/gate/*.py) write it, for tests that
 * run a check's query against Postgres without the whole GX checkpoint.
 */
import { execFileSync } from 'node:child_process';

import type { Config } from '../../lib/config/index.ts';
import { pythonPath } from '../../great_expectations/run.ts';

/** The text of `expression`, evaluated after `from <module> import <name>` in the gate's folder. */
export function gateSql(config: Config, module: string, name: string, expression: string = name): string {
  const script = `import sys; sys.path.insert(0, 'great_expectations/gate'); from ${module} import ${name}; print(${expression})`;
  return execFileSync(pythonPath(config), ['-c', script], { cwd: config.rootDir, encoding: 'utf8' });
}
