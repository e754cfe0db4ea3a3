// A local stand-in for a payment provider, mounted at /mock-pay: a REST API the shop
// calls (create payment, refund), a checkout page the buyer pays on, and signed
// callbacks to the shop. In production this is someone else's service, which is why
// the shop reaches it over HTTP, through a breaker and retries, like any remote API.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from '../payments/signature.js';

interface MockPayment {
  id: string;
  merchantRef: string;
  amountCents: number;
  description: string;
  callbackUrl: string;
  returnUrl: string;
  status: 'pending' | 'succeeded';
}

export interface MockProviderOptions {
  /** Signs callbacks. */
  secret: string;
  /** The key the shop must send as `Authorization: Bearer <apiKey>`. */
  apiKey: string;
  /** The provider's own public base URL (for checkout links), e.g. `http://localhost:3000/mock-pay`. */
  baseUrl: () => string;
  /** Callback delivery attempts before giving up. Default 3. */
  deliveryAttempts?: number;
  now?: () => number;
}

/** Test and demo controls of the mock provider. */
export interface MockProviderControl {
  /** Answer the next `n` API calls with `status` (default 503), as an unhealthy provider would. */
  failNext(n: number, status?: number): void;
  /** While down, every API call gets a 503. */
  setDown(down: boolean): void;
  /** API calls received (create + refund), failed ones included. */
  readonly apiCalls: number;
  /** Refunds made, by merchantRef. */
  readonly refunds: ReadonlyMap<string, { providerPaymentId: string; amountCents: number }>;
  /** A payment by the provider's id. */
  payment(id: string): Readonly<MockPayment> | undefined;
  /** Pay a payment as if the buyer clicked "Pay" (sends the callback); resolves the callback's HTTP status. */
  pay(id: string): Promise<number>;
  /** Send (again) the signed callback of a succeeded payment; resolves the HTTP status. */
  resendCallback(id: string): Promise<number>;
  /** The body and headers of a callback for a payment, without sending it (tests tamper with it). */
  callbackFor(id: string): { body: string; headers: Record<string, string> };
}

const createSchema = z.object({
  merchantRef: z.string().min(1).max(100),
  amountCents: z.number().int().min(0),
  description: z.string().max(200),
  callbackUrl: z.url(),
  returnUrl: z.url(),
});
const refundSchema = z.object({
  providerPaymentId: z.string().min(1),
  amountCents: z.number().int().min(0),
  merchantRef: z.string().min(1),
});

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const money = (cents: number) => `$${(cents / 100).toFixed(2)}`;

function checkoutPage(p: MockPayment, base: string): string {
  const done = p.status === 'succeeded';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MockPay checkout</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;background:#eef2f7;margin:0;display:grid;place-items:center;min-height:100vh}
main{background:#fff;padding:2rem 2.5rem;border-radius:12px;box-shadow:0 2px 12px #0002;max-width:26rem}
h1{margin:0 0 .25rem;font-size:1.2rem;color:#3a4a8a}.amount{font-size:2rem;margin:1rem 0}
button{font-size:1rem;padding:.6rem 1.4rem;border-radius:6px;border:0;cursor:pointer}
.pay{background:#3a4a8a;color:#fff}.back{background:#ddd;margin-left:.5rem}small{color:#666}
</style></head><body><main>
<h1>MockPay</h1><small>A pretend payment provider, part of the girder example shop.</small>
<p>${escapeHtml(p.description)}</p>
<div class="amount" data-testid="amount">${money(p.amountCents)}</div>
${
  done
    ? `<p>This payment is complete.</p><form method="post" action="${base}/checkout/${p.id}/back"><button class="pay">Back to the shop</button></form>`
    : `<form method="post" action="${base}/checkout/${p.id}/pay" style="display:inline"><button class="pay" id="pay">Pay ${money(p.amountCents)}</button></form><form method="post" action="${base}/checkout/${p.id}/back" style="display:inline"><button class="back">Cancel</button></form>`
}
</main></body></html>`;
}

/** The mock provider as a Fastify plugin (register it with `prefix: '/mock-pay'`) plus its controls. */
export function mockPaymentProvider(options: MockProviderOptions): {
  plugin: (app: FastifyInstance) => Promise<void>;
  control: MockProviderControl;
} {
  const now = options.now ?? Date.now;
  const attempts = options.deliveryAttempts ?? 3;
  const payments = new Map<string, MockPayment>();
  const byRef = new Map<string, string>();
  const refunds = new Map<string, { providerPaymentId: string; amountCents: number }>();
  let failures: { left: number; status: number } = { left: 0, status: 503 };
  let down = false;
  let apiCalls = 0;

  const callbackFor = (p: MockPayment) => {
    const body = JSON.stringify({
      eventId: `evt_${p.id}_${p.status}`,
      merchantRef: p.merchantRef,
      providerPaymentId: p.id,
      status: p.status,
      amountCents: p.amountCents,
    });
    const timestamp = Math.floor(now() / 1000);
    return {
      body,
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: sign(options.secret, timestamp, body),
      },
    };
  };

  const deliver = async (p: MockPayment): Promise<number> => {
    let status = 0;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const { body, headers } = callbackFor(p);
      try {
        const res = await fetch(p.callbackUrl, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(5_000),
        });
        await res.arrayBuffer();
        status = res.status;
        if (res.status < 500 && res.status !== 429) return status;
      } catch {
        status = 0;
      }
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
    return status;
  };

  const pay = async (id: string) => {
    const p = payments.get(id);
    if (!p) return 404;
    p.status = 'succeeded';
    return deliver(p);
  };

  const control: MockProviderControl = {
    failNext(n, status = 503) {
      failures = { left: n, status };
    },
    setDown(value) {
      down = value;
    },
    get apiCalls() {
      return apiCalls;
    },
    refunds,
    payment: (id) => payments.get(id),
    pay,
    async resendCallback(id) {
      const p = payments.get(id);
      return p ? deliver(p) : 404;
    },
    callbackFor(id) {
      const p = payments.get(id);
      if (!p) throw new Error(`no mock payment ${id}`);
      return callbackFor(p);
    },
  };

  const plugin = async (app: FastifyInstance) => {
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );

    const api = (reply: FastifyReply, authorization: string | undefined) => {
      apiCalls++;
      if (authorization !== `Bearer ${options.apiKey}`) {
        reply.code(401).send({ error: 'bad api key' });
        return false;
      }
      if (down || failures.left > 0) {
        if (failures.left > 0) failures.left--;
        reply.code(down ? 503 : failures.status).send({ error: 'provider unavailable' });
        return false;
      }
      return true;
    };

    app.post('/api/payments', async (request, reply) => {
      if (!api(reply, request.headers.authorization)) return reply;
      const parsed = createSchema.safeParse(request.body);
      if (!parsed.success) return reply.code(400).send({ error: parsed.error.issues[0]?.message });
      const known = byRef.get(parsed.data.merchantRef);
      const p: MockPayment = known
        ? payments.get(known)!
        : { id: `mp_${randomUUID().replaceAll('-', '')}`, status: 'pending', ...parsed.data };
      payments.set(p.id, p);
      byRef.set(p.merchantRef, p.id);
      return { id: p.id, payUrl: `${options.baseUrl()}/checkout/${p.id}` };
    });

    app.post('/api/refunds', async (request, reply) => {
      if (!api(reply, request.headers.authorization)) return reply;
      const parsed = refundSchema.safeParse(request.body);
      if (!parsed.success) return reply.code(400).send({ error: parsed.error.issues[0]?.message });
      const p = payments.get(parsed.data.providerPaymentId);
      if (p?.status !== 'succeeded') return reply.code(409).send({ error: 'nothing to refund' });
      if (!refunds.has(parsed.data.merchantRef)) {
        refunds.set(parsed.data.merchantRef, {
          providerPaymentId: p.id,
          amountCents: parsed.data.amountCents,
        });
      }
      return { refunded: true };
    });

    app.get<{ Params: { id: string } }>('/checkout/:id', async (request, reply) => {
      const p = payments.get(request.params.id);
      if (!p) return reply.code(404).type('text/html').send('<h1>Unknown payment</h1>');
      return reply.type('text/html; charset=utf-8').send(checkoutPage(p, options.baseUrl()));
    });

    app.post<{ Params: { id: string } }>('/checkout/:id/pay', async (request, reply) => {
      const p = payments.get(request.params.id);
      if (!p) return reply.code(404).type('text/html').send('<h1>Unknown payment</h1>');
      // Tell the shop first, then send the buyer back, as real providers do.
      await pay(p.id);
      return reply.redirect(p.returnUrl, 303);
    });

    app.post<{ Params: { id: string } }>('/checkout/:id/back', async (request, reply) => {
      const p = payments.get(request.params.id);
      if (!p) return reply.code(404).type('text/html').send('<h1>Unknown payment</h1>');
      return reply.redirect(p.returnUrl, 303);
    });
  };

  return { plugin, control };
}
