export {
  OCTET_STRING_SYNTAX,
  OPENLDAP_SCHEMA_DN,
  SCHEMA_FILES,
  SCHEMA_FLAVORS,
  SCHEMA_FORMATS,
  SHRTOK_DESC,
  SHRTOK_NAME,
  SHRTOK_OID,
  attributeTypeDescription,
  schemaText,
} from './definitions.js';
export type { SchemaFlavor, SchemaFormat } from './definitions.js';
export { attrValues, detectServer, readRootDse } from './detect.js';
export type { ServerInfo } from './detect.js';
export { SCHEMA_CHECK_EXIT, checkSchema, classify, installSchema, readAttributeTypes } from './install.js';
export type { InstallSchemaOptions, InstallSchemaResult, SchemaCheck, SchemaState } from './install.js';
export { effectiveSyntax, hasName, parseAttributeType } from './parse.js';
export type { AttributeTypeInfo } from './parse.js';
