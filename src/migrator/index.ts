/**
 * Zero-downtime table migration on Kysely: dual write in four phases, a chunk-checksum
 * validator, a race-free fixer and a gated phase switch.
 *
 * @module migrator
 */

export { type Inconsistency, PHASES, type Phase } from './types.js';

// validator
export { validator } from './validator.js';
export {
  type CreateValidatorStateTableOptions,
  createValidatorStateTable,
} from './validator-state.js';
export type {
  AnyKysely,
  ChecksumDialect,
  ChunkReport,
  StartOptions,
  ValidationProgress,
  ValidationResult,
  ValidationRun,
  ValidationStatus,
  Validator,
  ValidatorEvents,
  ValidatorOptions,
  ValidatorStateStore,
} from './validator-types.js';
