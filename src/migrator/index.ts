/**
 * Zero-downtime table migration on Kysely: dual write in four phases, a chunk-checksum
 * validator, a race-free fixer and a gated phase switch.
 *
 * @module migrator
 */

export { migrationControl } from './control.js';
export { type MigrationControlPluginOptions, migrationControlPlugin } from './control-http.js';
export type {
  DiffCounts,
  GateStatus,
  MigrationControl,
  MigrationControlEvents,
  MigrationControlOptions,
  MigrationStatus,
  SwitchOptions,
} from './control-types.js';
// --- dual write, phase stores, repair log, fixer, control (migrator engineer) ---
export {
  type DualWriteEvents,
  type DualWriteOp,
  type DualWriteOptions,
  type DualWriter,
  type DualWriteSide,
  type DualWriteWriter,
  dualWrite,
  type RepairLogOptions,
  type SecondaryFailure,
} from './dual-write.js';
export {
  InvalidPhaseError,
  MigratorBusyError,
  PhaseGateError,
  type PhaseGateReason,
} from './errors.js';
export {
  type FixAction,
  type Fixer,
  type FixerEvents,
  type FixerOptions,
  type FixOutcome,
  type FixSkipReason,
  type FixSummary,
  fixer,
} from './fixer.js';
export {
  type LivePhaseStoreOptions,
  type LiveValue,
  livePhaseStore,
  type MemoryPhaseStoreOptions,
  memoryPhaseStore,
  type PhaseStore,
  type PhaseStoreEvents,
} from './phase-store.js';
export {
  type CreateRepairLogTableOptions,
  createRepairLogTable,
  DEFAULT_REPAIR_LOG_TABLE,
} from './repair-log.js';
export type { AnyDb, MigrationSideOptions, Row, Side } from './shared.js';
export {
  type CreatePhaseTableOptions,
  createPhaseTable,
  DEFAULT_PHASE_TABLE,
  type SqlPhaseStoreOptions,
  sqlPhaseStore,
} from './sql-phase-store.js';
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

// --- end migrator engineer ---
