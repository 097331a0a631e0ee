/**
 * One live line at the bottom of a terminal (a long resync's progress). Everything else written to stderr goes through
 * `print`, which clears the line first and draws it again after, so log lines and the table never mix with it. Off
 * (a no-op) unless stderr is a terminal.
 */
class StatusLine {
  #text = '';
  readonly #tty = process.stderr.isTTY === true;

  /** Shows (or replaces) the status text; empty clears it. */
  set(text: string): void {
    if (!this.#tty) return;
    this.#clear();
    // A terminal of unknown width (0) gets 120 columns.
    this.#text = text.slice(0, Math.max(20, (process.stderr.columns || 120) - 1));
    if (this.#text) process.stderr.write(this.#text);
  }

  print(text: string): void {
    if (!this.#tty || !this.#text) {
      process.stderr.write(text);
      return;
    }
    this.#clear();
    process.stderr.write(text);
    process.stderr.write(this.#text);
  }

  #clear(): void {
    if (this.#text) process.stderr.write('\r\x1b[K');
  }
}

export const statusLine = new StatusLine();
