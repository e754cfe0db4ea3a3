// The router: #/products, #/products/<id>, #/popular, #/cart, #/orders, #/orders/<no>, #/signin, #/signup, #/account, #/admin, #/ops.
import { ApiError, api, signedIn, tokens } from './api.js';
import { cart } from './cart.js';
import { popularView, productView } from './catalog-views.js';
import { h, mount } from './dom.js';
import { accountView } from './login-sms.js';
import { opsView } from './ops.js';
import {
  adminView,
  cartView,
  ordersView,
  orderView,
  productsView,
  signInView,
  signUpView,
} from './views.js';

const root = document.getElementById('view');
const nav = document.getElementById('nav');
let profile = null;

async function loadProfile() {
  profile = signedIn() ? await api('GET', '/api/users/profile').catch(() => null) : null;
  if (!profile) tokens.clear();
  renderNav();
}

function renderNav() {
  const here = location.hash.split('?')[0] || '#/products';
  const link = (href, text) => h('a', { href, class: here === href ? 'active' : '' }, text);
  const count = cart.count();
  mount(
    nav,
    link('#/products', 'Products'),
    link('#/popular', 'Popular'),
    link('#/cart', count > 0 ? `Cart (${count})` : 'Cart'),
    profile ? link('#/orders', 'Orders') : null,
    profile?.role === 'admin' ? link('#/admin', 'Admin') : null,
    profile?.role === 'admin' ? link('#/ops', 'Ops') : null,
    h('span', { class: 'spacer' }),
    profile
      ? [
          link('#/account', 'Account'),
          h('span', { class: 'hint' }, profile.email),
          h(
            'button',
            {
              class: 'secondary',
              onclick: async () => {
                await api('POST', '/api/users/logout').catch(() => {});
                tokens.clear();
                profile = null;
                location.hash = '#/products';
                renderNav();
              },
            },
            'Sign out',
          ),
        ]
      : [link('#/signin', 'Sign in'), link('#/signup', 'Sign up')],
  );
}

const needsSignIn =
  (view) =>
  (m, ...rest) =>
    profile ? view(m, ...rest) : signInView(m, new URLSearchParams(), loadProfile);

async function route() {
  const [path, query = ''] = location.hash.slice(1).split('?');
  const params = new URLSearchParams(query);
  const parts = (path || '/products').split('/').filter(Boolean);
  renderNav();
  // Each navigation renders into its own container: a view still loading when the next
  // navigation starts finishes into a detached element instead of replacing the new one.
  const main = h('div', { class: 'route' }, h('p', { class: 'hint' }, 'Loading…'));
  mount(root, main);
  try {
    switch (parts[0]) {
      case 'cart':
        return await cartView(main);
      case 'orders':
        return await needsSignIn(
          parts[1] ? (m) => orderView(m, decodeURIComponent(parts[1])) : ordersView,
        )(main);
      case 'signin':
        return signInView(main, params, loadProfile);
      case 'signup':
        return signUpView(main, params, loadProfile);
      case 'admin':
        return await needsSignIn(adminView)(main);
      case 'ops':
        return await needsSignIn(opsView)(main);
      case 'popular':
        return await popularView(main);
      case 'products':
        if (parts[1]) return await productView(main, decodeURIComponent(parts[1]));
        return await productsView(main, params);
      case 'account':
        return await needsSignIn(accountView)(main);
      default:
        return await productsView(main, params);
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      tokens.clear();
      profile = null;
      return signInView(main, params, loadProfile);
    }
    mount(main, h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, err.message));
  } finally {
    root.focus({ preventScroll: true });
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('cartchange', renderNav);
await loadProfile();
await route();
