/**
 * Zero-downtime table migration on Kysely: dual write in four phases, a chunk-checksum
 * validator, a race-free fixer and a gated phase switch.
 *
 * @module migrator
 */

export { type Inconsistency, PHASES, type Phase } from './types.js';
