export { SERVE_SETTINGS, flagName } from './settings.js';
export type { ServeConfig, ServeKey, SettingSpec, SettingType } from './settings.js';
export { ConfigError, buildServeConfig, loadServeConfig, readConfigFile, parseLdapUrl } from './load.js';
export type { ConfigOverrides, LdapUrl } from './load.js';
