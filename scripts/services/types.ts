/** The shape every local service module implements, so the CLI and the test setup treat them alike. */
import type { Config } from '../../lib/config/index.ts';

export type ServiceName = 'postgres' | 'shop-postgres' | 'mariadb' | 'kafka' | 'smtp' | 'prometheus' | 's3proxy' | 'spark' | 'spark-sql';

export interface ServiceStatus {
  service: ServiceName;
  mode: 'managed' | 'external';
  pid: number | undefined;
  /** host:port the service answers on. */
  address: string;
  state: 'up' | 'down' | 'starting' | 'unreachable' | 'port taken';
  detail?: string;
}

export interface UpResult {
  /** One line for the user: "started (pid 123) in 2.1 s", "ok, already up", "external, reachable". */
  message: string;
}

export interface LocalService {
  name: ServiceName;
  /** The environment variable that makes this service external when set. */
  externalVariable: string;
  up(config: Config): Promise<UpResult>;
  down(config: Config): Promise<string>;
  status(config: Config): Promise<ServiceStatus>;
}
