/**
 * Leader election, cluster-once scheduled jobs, load-aware leadership and a SQL job table.
 *
 * @module jobs
 */
export {};
