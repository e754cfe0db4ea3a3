// Demo data for an empty catalog: a few categories and products with stock.
import type { CatalogService } from './catalog/service.js';
import type { InventoryService } from './inventory/service.js';

const CATEGORIES = [
  { slug: 'books', name: 'Books' },
  { slug: 'electronics', name: 'Electronics' },
  { slug: 'kitchen', name: 'Kitchen' },
  { slug: 'games', name: 'Games' },
];

const PRODUCTS: Array<{
  category: string;
  name: string;
  description: string;
  priceCents: number;
  stock: number;
}> = [
  {
    category: 'books',
    name: 'Release It!',
    description: 'Design and deploy production-ready software.',
    priceCents: 3_995,
    stock: 25,
  },
  {
    category: 'books',
    name: 'Designing Data-Intensive Applications',
    description: 'The big ideas behind reliable, scalable systems.',
    priceCents: 4_499,
    stock: 40,
  },
  {
    category: 'books',
    name: 'Site Reliability Engineering',
    description: 'How Google runs production systems.',
    priceCents: 3_599,
    stock: 15,
  },
  {
    category: 'electronics',
    name: 'Mechanical keyboard',
    description: 'Tactile switches, USB-C, no RGB.',
    priceCents: 8_900,
    stock: 12,
  },
  {
    category: 'electronics',
    name: 'USB-C hub',
    description: 'Seven ports, one cable.',
    priceCents: 3_450,
    stock: 30,
  },
  {
    category: 'electronics',
    name: 'Noise-cancelling headphones',
    description: 'For open-plan offices.',
    priceCents: 19_900,
    stock: 5,
  },
  {
    category: 'kitchen',
    name: 'Pour-over coffee set',
    description: 'Dripper, filters and a gooseneck kettle.',
    priceCents: 4_800,
    stock: 20,
  },
  {
    category: 'kitchen',
    name: 'Cast-iron pan',
    description: 'Will outlive the codebase.',
    priceCents: 3_900,
    stock: 8,
  },
  {
    category: 'kitchen',
    name: 'Espresso cups (set of 4)',
    description: 'Small, sturdy, stackable.',
    priceCents: 2_400,
    stock: 3,
  },
  {
    category: 'games',
    name: 'Chess set',
    description: 'Weighted pieces, folding board.',
    priceCents: 5_500,
    stock: 10,
  },
  {
    category: 'games',
    name: 'Puzzle (1000 pieces)',
    description: 'A server room at night.',
    priceCents: 1_999,
    stock: 1,
  },
  {
    category: 'games',
    name: 'Card game',
    description: 'Deploy on Friday: the card game.',
    priceCents: 1_500,
    stock: 50,
  },
];

/** Seed the demo catalog when there are no categories yet; resolves whether it did. */
export async function seedDemoData(
  catalog: CatalogService,
  inventory: InventoryService,
): Promise<boolean> {
  if ((await catalog.categories()).length > 0) return false;
  for (const c of CATEGORIES) {
    try {
      await catalog.createCategory(c);
    } catch (err) {
      // Another instance is seeding at the same time: leave it to that one.
      if ((err as { code?: string }).code === 'CATEGORY_EXISTS') return false;
      throw err;
    }
  }
  for (const { stock, ...p } of PRODUCTS) {
    const product = await catalog.createProduct(p);
    await inventory.setStock(product.id, stock);
  }
  return true;
}
