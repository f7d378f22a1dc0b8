export { loadConfig, childEnv, inheritedEnv, ROOT_DIR, type Config } from './load.ts';
export { DEFAULTS, envSchema, GATE_SOURCE_NAMES, type EnvName, type GateSourceName } from './schema.ts';
export { roleUrl, type WarehouseRole } from './roles.ts';
