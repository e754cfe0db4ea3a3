// Database spans: a Kysely plugin starts a CLIENT span when a query is compiled (inside
// the caller's async context, so it nests under the service span) and ends it when the
// result arrives. Kysely calls no plugin hook when a query fails, so the service wrapper
// settles the spans still open under its own span when it finishes (`settle`).
import {
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';

const OPERATIONS: Record<string, string> = {
  SelectQueryNode: 'SELECT',
  InsertQueryNode: 'INSERT',
  UpdateQueryNode: 'UPDATE',
  DeleteQueryNode: 'DELETE',
  MergeQueryNode: 'MERGE',
  RawNode: 'RAW',
};

/** The plugin, and `settle(parent)` which ends the spans a failed query left open. */
export function dbTracing(tracer: Tracer, system: 'postgresql') {
  const open = new WeakMap<object, Span>();
  const byParent = new WeakMap<Span, Set<Span>>();
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }: PluginTransformQueryArgs): RootOperationNode {
      const operation = OPERATIONS[node.kind] ?? node.kind;
      const parent = trace.getActiveSpan();
      const span = tracer.startSpan(
        operation,
        {
          kind: SpanKind.CLIENT,
          attributes: { 'db.system.name': system, 'db.operation.name': operation },
        },
        context.active(),
      );
      open.set(queryId, span);
      if (parent) {
        const set = byParent.get(parent) ?? new Set<Span>();
        byParent.set(parent, set);
        set.add(span);
      }
      return node;
    },
    async transformResult({
      queryId,
      result,
    }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      const span = open.get(queryId);
      if (span) {
        open.delete(queryId);
        if (result.numAffectedRows !== undefined)
          span.setAttribute('db.response.affected_rows', Number(result.numAffectedRows));
        span.setAttribute('db.response.returned_rows', result.rows.length);
        span.end();
        const parent = trace.getActiveSpan();
        if (parent) byParent.get(parent)?.delete(span);
      }
      return result;
    },
  };
  return {
    plugin,
    /** End the query spans still open under `parent` as failed. */
    settle(parent: Span): void {
      const set = byParent.get(parent);
      if (!set) return;
      byParent.delete(parent);
      for (const span of set) {
        if (!span.isRecording()) continue;
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'query failed' });
        span.end();
      }
    },
  };
}
