// The cart, kept in localStorage: { [productId]: { productId, name, priceCents, quantity } }.

const KEY = 'shop.cart';
const read = () => JSON.parse(localStorage.getItem(KEY) ?? '{}');
const write = (cart) => {
  localStorage.setItem(KEY, JSON.stringify(cart));
  // A changed cart is a new checkout attempt.
  localStorage.removeItem('shop.checkout');
};

const newId = () => {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Outside a secure context (plain http on a LAN address) randomUUID is missing.
  return [...crypto.getRandomValues(new Uint8Array(16))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
};

export const cart = {
  lines: () => Object.values(read()),
  count: () => Object.values(read()).reduce((n, l) => n + l.quantity, 0),
  add(product) {
    const c = read();
    const line = c[product.id] ?? {
      productId: product.id,
      name: product.name,
      priceCents: product.priceCents,
      quantity: 0,
    };
    line.quantity = Math.min(line.quantity + 1, 100);
    c[product.id] = line;
    write(c);
  },
  set(productId, quantity) {
    const c = read();
    if (quantity <= 0) delete c[productId];
    else if (c[productId]) c[productId].quantity = Math.min(quantity, 100);
    write(c);
  },
  clear() {
    localStorage.removeItem(KEY);
    localStorage.removeItem('shop.checkout');
  },
  /** One requestId per checkout attempt: a retry or double click cannot order twice. */
  requestId() {
    let id = localStorage.getItem('shop.checkout');
    if (!id) {
      id = newId();
      localStorage.setItem('shop.checkout', id);
    }
    return id;
  },
};
