export { loadConfig, childEnv, inheritedEnv, ROOT_DIR, type Config } from './load.ts';
export { DEFAULTS, envSchema, type EnvName } from './schema.ts';
export { roleUrl, type WarehouseRole } from './roles.ts';
