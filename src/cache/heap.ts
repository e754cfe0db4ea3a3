// A binary min-heap over an array: the root is the smallest element under `less`. topN
// keeps its n best items here with the worst of them at the root, so a better newcomer
// replaces the root in O(log n) and a worse one costs one comparison.

/** @internal */
export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  /** The smallest element (undefined when empty). */
  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(items[i] as T, items[parent] as T)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** Put `item` in place of the root (the caller checked it is not smaller). */
  replaceTop(item: T): void {
    this.#items[0] = item;
    this.#siftDown(0);
  }

  /** Remove and return the smallest element. */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  #siftDown(start: number): void {
    const items = this.#items;
    const n = items.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) return;
      const right = left + 1;
      const child = right < n && this.#less(items[right] as T, items[left] as T) ? right : left;
      if (!this.#less(items[child] as T, items[i] as T)) return;
      this.#swap(i, child);
      i = child;
    }
  }

  #swap(a: number, b: number): void {
    const items = this.#items;
    const t = items[a] as T;
    items[a] = items[b] as T;
    items[b] = t;
  }
}
