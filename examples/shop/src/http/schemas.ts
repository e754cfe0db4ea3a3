// Request schemas (zod). Limits keep every total inside a 32-bit integer.
import { z } from 'zod';
import { emailSchema, passwordSchema } from '../users/rules.js';

export const MAX_QUANTITY = 100;
export const MAX_LINES = 20;
export const MAX_PRICE_CENTS = 1_000_000;
export const MAX_STOCK = 1_000_000;

const id = z.number().int().min(1).max(2_147_483_647);
const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,49}$/, 'must be 1-50 lower-case letters, digits or -');

export const idParam = z.object({
  id: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'must be a positive whole number')
    .transform(Number)
    .pipe(id),
});

export const orderNoParam = z.object({ orderNo: z.string().min(1).max(64) });

export const signupBody = z
  .object({
    email: emailSchema,
    password: passwordSchema,
    confirmPassword: z.string(),
  })
  .refine((b) => b.password === b.confirmPassword, {
    message: 'passwords do not match',
    path: ['confirmPassword'],
  });

/** Shapes only: an address that is not an email is just an unknown account. */
export const loginBody = z.object({
  email: z
    .string()
    .max(254)
    .transform((e) => e.trim().toLowerCase()),
  password: z.string().max(1024),
});

const positiveInt = (max: number) =>
  z
    .string()
    .regex(/^\d{1,7}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(max));

export const productQuery = z.object({
  category: slug.optional(),
  page: positiveInt(100_000).default(1),
  pageSize: positiveInt(100).default(20),
});

export const orderBody = z.object({
  items: z
    .array(
      z.object({
        productId: id,
        quantity: z.number().int().min(1).max(MAX_QUANTITY),
      }),
    )
    .min(1, 'an order needs at least one item')
    .max(MAX_LINES),
  requestId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be 1-100 letters, digits, _ or - (a UUID is ideal)'),
});

export const newProductBody = z.object({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2_000).default(''),
  priceCents: z.number().int().min(0).max(MAX_PRICE_CENTS),
  category: slug,
  stock: z.number().int().min(0).max(MAX_STOCK).default(0),
});

export const productChangesBody = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(2_000).optional(),
    priceCents: z.number().int().min(0).max(MAX_PRICE_CENTS).optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), {
    message: 'give at least one of name, description, priceCents',
  });

export const stockBody = z.object({ stock: z.number().int().min(0).max(MAX_STOCK) });

export const newCategoryBody = z.object({ slug, name: z.string().trim().min(1).max(100) });

export const callbackBody = z.object({
  eventId: z.string().min(1).max(200),
  merchantRef: z.string().min(1).max(100),
  providerPaymentId: z.string().min(1).max(200),
  status: z.enum(['succeeded', 'failed']),
  amountCents: z.number().int().min(0),
});
