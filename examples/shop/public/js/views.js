// The pages. Each view renders into `main` and returns nothing; navigation is by hash.
import { ApiError, api, tokens } from './api.js';
import { cart } from './cart.js';
import { field, h, money, mount, statusText, toast } from './dom.js';
import { smsLoginSection } from './login-sms.js';

const PASSWORD_RULE = '8 to 72 characters with at least one letter, one digit and one symbol';

const go = (hash) => {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
};

/** Header row of a table of order lines; the cart adds an empty column for its buttons. */
const lineHeader = (withActions = false) =>
  h(
    'thead',
    {},
    h(
      'tr',
      {},
      h('th', {}, 'Product'),
      h('th', { class: 'num' }, 'Price'),
      h('th', { class: 'num' }, 'Quantity'),
      h('th', { class: 'num' }, 'Subtotal'),
      withActions ? h('th') : null,
    ),
  );

const errorText = (err) =>
  err instanceof ApiError ? err.message : 'The shop did not answer. Try again.';

function formError(form) {
  let p = form.querySelector('.error');
  if (!p) {
    p = h('p', { class: 'error', role: 'alert' });
    form.append(p);
  }
  return p;
}

async function submitting(form, work) {
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  formError(form).textContent = '';
  try {
    await work();
  } catch (err) {
    formError(form).textContent = errorText(err);
  } finally {
    button.disabled = false;
  }
}

// --- products ----------------------------------------------------------------------

export async function productsView(main, params) {
  const category = params.get('category') ?? '';
  const page = Number(params.get('page') ?? 1) || 1;
  const query = new URLSearchParams({ page: String(page), pageSize: '12' });
  if (category) query.set('category', category);
  const [categories, products] = await Promise.all([
    api('GET', '/api/categories'),
    api('GET', `/api/products?${query}`),
  ]);

  const select = h(
    'select',
    {
      id: 'category',
      onchange: (e) =>
        go(
          e.target.value
            ? `#/products?category=${encodeURIComponent(e.target.value)}`
            : '#/products',
        ),
    },
    h('option', { value: '' }, 'All categories'),
    categories.items.map((c) =>
      h('option', { value: c.slug, selected: c.slug === category }, c.name),
    ),
  );
  const pages = Math.max(1, Math.ceil(products.total / products.pageSize));
  const link = (p) =>
    `#/products?${new URLSearchParams({ ...(category && { category }), page: String(p) })}`;

  mount(
    main,
    h('h1', {}, 'Products'),
    h('div', { class: 'toolbar' }, field('Category', select)),
    products.items.length === 0
      ? h('p', { class: 'empty' }, 'No products here.')
      : h('div', { class: 'grid' }, products.items.map(productCard)),
    h(
      'div',
      { class: 'pager' },
      page > 1 ? h('a', { href: link(page - 1) }, '← Previous') : null,
      h('span', {}, `Page ${page} of ${pages}`),
      page < pages ? h('a', { href: link(page + 1) }, 'Next →') : null,
    ),
  );
}

function productCard(p) {
  const stockClass = p.stock === 0 ? 'stock out' : p.stock <= 3 ? 'stock low' : 'stock';
  return h(
    'article',
    { class: 'card', 'data-product': p.id },
    h('span', { class: 'tag' }, p.category.name),
    h('h3', {}, h('a', { href: `#/products/${p.id}` }, p.name)),
    h('p', {}, p.description),
    h('span', { class: 'price' }, money(p.priceCents)),
    h('span', { class: stockClass }, p.stock === 0 ? 'Out of stock' : `${p.stock} in stock`),
    h(
      'button',
      {
        disabled: p.stock === 0,
        'aria-label': `Add ${p.name} to cart`,
        onclick: () => {
          cart.add(p);
          window.dispatchEvent(new Event('cartchange'));
          toast(`Added ${p.name} to the cart`);
        },
      },
      'Add to cart',
    ),
  );
}

// --- cart and checkout -------------------------------------------------------------

export async function cartView(main) {
  const lines = cart.lines();
  if (lines.length === 0) {
    mount(
      main,
      h('h1', {}, 'Cart'),
      h(
        'p',
        { class: 'empty' },
        'Your cart is empty. ',
        h('a', { href: '#/products' }, 'Browse products'),
      ),
    );
    return;
  }
  const total = lines.reduce((sum, l) => sum + l.priceCents * l.quantity, 0);
  const error = h('p', { class: 'error', role: 'alert' });
  const checkout = h(
    'button',
    {
      onclick: async () => {
        if (!tokens.get()) {
          toast('Sign in to place your order');
          go('#/signin?next=cart');
          return;
        }
        checkout.disabled = true;
        error.textContent = '';
        try {
          const order = await api('POST', '/api/orders', {
            items: cart.lines().map((l) => ({ productId: l.productId, quantity: l.quantity })),
            requestId: cart.requestId(),
          });
          cart.clear();
          window.dispatchEvent(new Event('cartchange'));
          go(`#/orders/${encodeURIComponent(order.orderNo)}`);
        } catch (err) {
          error.textContent = errorText(err);
          checkout.disabled = false;
        }
      },
    },
    'Place order',
  );
  mount(
    main,
    h('h1', {}, 'Cart'),
    h(
      'table',
      {},
      lineHeader(true),
      h(
        'tbody',
        {},
        lines.map((l) =>
          h(
            'tr',
            {},
            h('td', {}, l.name),
            h('td', { class: 'num' }, money(l.priceCents)),
            h(
              'td',
              { class: 'num' },
              h('input', {
                type: 'number',
                min: '1',
                max: '100',
                value: String(l.quantity),
                'aria-label': `Quantity of ${l.name}`,
                onchange: (e) => {
                  cart.set(l.productId, Math.floor(Number(e.target.value)) || 0);
                  window.dispatchEvent(new Event('cartchange'));
                  cartView(main);
                },
              }),
            ),
            h('td', { class: 'num' }, money(l.priceCents * l.quantity)),
            h(
              'td',
              {},
              h(
                'button',
                {
                  class: 'danger',
                  onclick: () => {
                    cart.set(l.productId, 0);
                    window.dispatchEvent(new Event('cartchange'));
                    cartView(main);
                  },
                },
                'Remove',
              ),
            ),
          ),
        ),
      ),
      h(
        'tfoot',
        {},
        h(
          'tr',
          {},
          h('th', { colspan: '3' }, 'Total'),
          h('th', { class: 'num', id: 'cart-total' }, money(total)),
          h('th'),
        ),
      ),
    ),
    h('div', { class: 'actions' }, checkout),
    error,
  );
}

// --- orders ----------------------------------------------------------------------------

export async function ordersView(main) {
  const { items } = await api('GET', '/api/orders');
  mount(
    main,
    h('h1', {}, 'Your orders'),
    items.length === 0
      ? h('p', { class: 'empty' }, 'No orders yet.')
      : h(
          'table',
          {},
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'Order'),
              h('th', {}, 'Placed'),
              h('th', {}, 'Status'),
              h('th', { class: 'num' }, 'Total'),
            ),
          ),
          h(
            'tbody',
            {},
            items.map((o) =>
              h(
                'tr',
                {},
                h(
                  'td',
                  {},
                  h('a', { href: `#/orders/${encodeURIComponent(o.orderNo)}` }, o.orderNo),
                ),
                h('td', {}, new Date(o.createdAt).toLocaleString()),
                h('td', {}, h('span', { class: `status ${o.status}` }, statusText(o))),
                h('td', { class: 'num' }, money(o.totalCents)),
              ),
            ),
          ),
        ),
  );
}

export async function orderView(main, orderNo) {
  const order = await api('GET', `/api/orders/${encodeURIComponent(orderNo)}`);
  const error = h('p', { class: 'error', role: 'alert' });
  const act = (label, cls, work) =>
    h(
      'button',
      {
        class: cls,
        onclick: async (e) => {
          e.target.disabled = true;
          error.textContent = '';
          try {
            await work();
          } catch (err) {
            error.textContent = errorText(err);
            e.target.disabled = false;
          }
        },
      },
      label,
    );
  const actions =
    order.status === 'pending_payment'
      ? [
          act('Pay', '', async () => {
            const { paymentUrl } = await api(
              'POST',
              `/api/orders/${encodeURIComponent(orderNo)}/pay`,
            );
            location.assign(paymentUrl);
          }),
          act('Cancel order', 'danger', async () => {
            await api('POST', `/api/orders/${encodeURIComponent(orderNo)}/cancel`);
            toast('Order cancelled; its items are back in stock');
            orderView(main, orderNo);
          }),
        ]
      : [];
  const refunded = (order.payments ?? []).filter(
    (p) => p.status === 'refunded' || p.status === 'refund_pending',
  );
  mount(
    main,
    h('h1', {}, `Order ${order.orderNo}`),
    h(
      'p',
      {},
      'Status: ',
      h('span', { class: `status ${order.status}`, id: 'order-status' }, statusText(order)),
    ),
    order.status === 'pending_payment'
      ? h(
          'p',
          { class: 'hint' },
          `Pay before ${new Date(order.expiresAt).toLocaleString()}, or the order is cancelled and its items go back on sale.`,
        )
      : null,
    refunded.length > 0
      ? h(
          'p',
          { class: 'hint' },
          'A payment arrived after this order was cancelled; it has been refunded.',
        )
      : null,
    h(
      'table',
      {},
      lineHeader(),
      h(
        'tbody',
        {},
        order.items.map((i) =>
          h(
            'tr',
            {},
            h('td', {}, i.name),
            h('td', { class: 'num' }, money(i.unitPriceCents)),
            h('td', { class: 'num' }, String(i.quantity)),
            h('td', { class: 'num' }, money(i.unitPriceCents * i.quantity)),
          ),
        ),
      ),
      h(
        'tfoot',
        {},
        h(
          'tr',
          {},
          h('th', { colspan: '3' }, 'Total'),
          h('th', { class: 'num' }, money(order.totalCents)),
        ),
      ),
    ),
    h('div', { class: 'actions' }, actions, h('a', { href: '#/orders' }, 'All orders')),
    error,
  );
}

// --- account -----------------------------------------------------------------------

const emailInput = () =>
  h('input', { name: 'email', type: 'email', autocomplete: 'username', required: true });

export function signInView(main, params, onSignedIn) {
  const form = h(
    'form',
    { class: 'stack', 'aria-label': 'Sign in' },
    field('Email', emailInput()),
    field(
      'Password',
      h('input', {
        name: 'password',
        type: 'password',
        autocomplete: 'current-password',
        required: true,
      }),
    ),
    h('button', { type: 'submit' }, 'Sign in'),
    h('p', { class: 'hint' }, 'No account? ', h('a', { href: '#/signup' }, 'Sign up')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(form, async () => {
      const data = Object.fromEntries(new FormData(form));
      tokens.set(await api('POST', '/api/users/login', data));
      await onSignedIn();
      go(params.get('next') === 'cart' ? '#/cart' : '#/products');
    });
  });
  mount(main, h('h1', {}, 'Sign in'), form, smsLoginSection(params, onSignedIn));
}

export function signUpView(main, _params, onSignedIn) {
  const form = h(
    'form',
    { class: 'stack', 'aria-label': 'Sign up' },
    field('Email', emailInput()),
    field(
      'Password',
      h('input', {
        name: 'password',
        type: 'password',
        autocomplete: 'new-password',
        required: true,
        minlength: '8',
        maxlength: '72',
      }),
    ),
    field(
      'Confirm password',
      h('input', {
        name: 'confirmPassword',
        type: 'password',
        autocomplete: 'new-password',
        required: true,
      }),
    ),
    h('p', { class: 'hint' }, `Password: ${PASSWORD_RULE}.`),
    h('button', { type: 'submit' }, 'Create account'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(form, async () => {
      const data = Object.fromEntries(new FormData(form));
      await api('POST', '/api/users/signup', data);
      tokens.set(
        await api('POST', '/api/users/login', { email: data.email, password: data.password }),
      );
      await onSignedIn();
      toast('Welcome! Your account is ready.');
      go('#/products');
    });
  });
  mount(main, h('h1', {}, 'Sign up'), form);
}

// --- admin -------------------------------------------------------------------------------

export async function adminView(main) {
  const [categories, products] = await Promise.all([
    api('GET', '/api/categories'),
    api('GET', '/api/products?pageSize=100'),
  ]);
  const reload = () => adminView(main);

  const productForm = h(
    'form',
    { class: 'stack', 'aria-label': 'New product' },
    field('Name', h('input', { name: 'name', required: true, maxlength: '200' })),
    field('Description', h('textarea', { name: 'description', rows: '2', maxlength: '2000' })),
    field(
      'Price (in cents)',
      h('input', { name: 'priceCents', type: 'number', min: '0', max: '1000000', required: true }),
    ),
    field(
      'Category',
      h(
        'select',
        { name: 'category' },
        categories.items.map((c) => h('option', { value: c.slug }, c.name)),
      ),
    ),
    field(
      'Initial stock',
      h('input', { name: 'stock', type: 'number', min: '0', value: '10', required: true }),
    ),
    h('button', { type: 'submit' }, 'Create product'),
  );
  productForm.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(productForm, async () => {
      const d = Object.fromEntries(new FormData(productForm));
      await api('POST', '/api/admin/products', {
        ...d,
        priceCents: Number(d.priceCents),
        stock: Number(d.stock),
      });
      toast(`Created ${d.name}`);
      await reload();
    });
  });

  const categoryForm = h(
    'form',
    { class: 'inline', 'aria-label': 'New category' },
    field('Name', h('input', { name: 'name', required: true })),
    field('Slug', h('input', { name: 'slug', required: true, pattern: '[a-z0-9][a-z0-9-]*' })),
    h('button', { type: 'submit' }, 'Add category'),
  );
  categoryForm.addEventListener('submit', (e) => {
    e.preventDefault();
    submitting(categoryForm, async () => {
      await api('POST', '/api/admin/categories', Object.fromEntries(new FormData(categoryForm)));
      toast('Category added');
      await reload();
    });
  });

  const stockRow = (p) => {
    const input = h('input', {
      type: 'number',
      min: '0',
      value: String(p.stock),
      'aria-label': `Stock of ${p.name}`,
    });
    const save = h(
      'button',
      {
        class: 'secondary',
        onclick: async () => {
          save.disabled = true;
          try {
            const updated = await api('PUT', `/api/admin/products/${p.id}/stock`, {
              stock: Number(input.value),
            });
            toast(`${p.name}: ${updated.stock} in stock`);
          } catch (err) {
            toast(errorText(err), { bad: true });
          } finally {
            save.disabled = false;
          }
        },
      },
      'Save',
    );
    return h(
      'tr',
      {},
      h('td', {}, String(p.id)),
      h('td', {}, p.name),
      h('td', {}, p.category.name),
      h('td', { class: 'num' }, money(p.priceCents)),
      h('td', { class: 'num' }, input),
      h('td', {}, save),
    );
  };

  mount(
    main,
    h('h1', {}, 'Admin'),
    h('h2', {}, 'Stock'),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Id'),
          h('th', {}, 'Product'),
          h('th', {}, 'Category'),
          h('th', { class: 'num' }, 'Price'),
          h('th', { class: 'num' }, 'Stock'),
          h('th'),
        ),
      ),
      h('tbody', {}, products.items.map(stockRow)),
    ),
    h('h2', {}, 'New product'),
    productForm,
    h('h2', {}, 'New category'),
    categoryForm,
  );
}
