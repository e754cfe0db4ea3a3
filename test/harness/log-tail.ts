/** Keeps the last `max` lines of a process's output, for error messages. */
export class LogTail {
  private readonly kept: string[] = [];
  private partial = '';

  constructor(private readonly max: number) {}

  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const trimmed = line.trimEnd();
      if (trimmed === '') continue;
      this.kept.push(trimmed);
      if (this.kept.length > this.max) this.kept.shift();
    }
  }

  /** Complete lines plus an unfinished last line, oldest first. */
  lines(): string[] {
    const partial = this.partial.trimEnd();
    return partial === '' ? [...this.kept] : [...this.kept, partial].slice(-this.max);
  }

  clear(): void {
    this.kept.length = 0;
    this.partial = '';
  }
}
