// The product page (with its view count) and the popular page (products ranked by units
// sold, recomputed by one shop instance every period).
import { api } from './api.js';
import { cart } from './cart.js';
import { h, money, mount, toast } from './dom.js';

const addButton = (p) =>
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
  );

export async function productView(main, id) {
  const p = await api('GET', `/api/products/${encodeURIComponent(id)}`);
  mount(
    main,
    h('p', {}, h('a', { href: '#/products' }, '← All products')),
    h(
      'article',
      { class: 'card product-page', 'data-product': p.id },
      h('span', { class: 'tag' }, p.category.name),
      h('h1', {}, p.name),
      h('p', {}, p.description),
      h('span', { class: 'price' }, money(p.priceCents)),
      h(
        'span',
        { class: p.stock === 0 ? 'stock out' : 'stock' },
        p.stock === 0 ? 'Out of stock' : `${p.stock} in stock`,
      ),
      h(
        'p',
        { class: 'hint', 'data-views': p.views },
        `Viewed ${p.views} ${p.views === 1 ? 'time' : 'times'}`,
      ),
      addButton(p),
    ),
  );
}

export async function popularView(main) {
  const { items } = await api('GET', '/api/products/popular');
  mount(
    main,
    h('h1', {}, 'Popular'),
    h('p', { class: 'hint' }, 'Best sellers by units sold in paid orders, refreshed every minute.'),
    items.length === 0
      ? h('p', { class: 'empty' }, 'Nothing sold yet.')
      : h(
          'ol',
          { class: 'popular', 'aria-label': 'Popular products' },
          items.map((e) =>
            h(
              'li',
              { 'data-product': e.product.id },
              h('a', { href: `#/products/${e.product.id}` }, e.product.name),
              ` · ${e.sold} sold · ${e.views} views · ${money(e.product.priceCents)}`,
            ),
          ),
        ),
  );
}
