/**
 * A progress line for long work (an epoch, an evaluation pass):
 *
 *     epoch 3 [#########...........]  45%  27,000/60,000 img  3,412 img/s  ETA 0:10  elapsed 0:08
 *
 * On a terminal it redraws one line in place (`\r`) at most every 100 ms. Elsewhere (CI logs,
 * pipes, files) it prints a whole line at most every 5 s and once at the end, so logs stay short.
 * Rate and ETA come from a recent window, so a slow warm-up (shader compilation) stops skewing
 * them after a few seconds.
 *
 * @module
 */

/** Where the line goes; `Deno.stderr` fits. */
export interface ProgressStream {
  /** Writes bytes; returns how many were written. */
  writeSync(bytes: Uint8Array): number;
  /** Whether the stream is a terminal (redraw in place) or a log. */
  isTerminal?(): boolean;
}

/** Options of a {@link ProgressBar}. */
export interface ProgressBarOptions {
  /** Amount of work when done (e.g. images in the epoch); finite and >= 0. */
  total: number;
  /** Text before the bar, e.g. "epoch 3". */
  label: string;
  /** What is counted, e.g. "img"; shown after done/total and in the rate. */
  unit?: string;
  /** Defaults to `Deno.stderr`, so progress never mixes with results printed on stdout. */
  stream?: ProgressStream;
  /** Milliseconds from any fixed origin; inject a fake clock in tests. */
  now?: () => number;
  /** Overrides `stream.isTerminal()`. */
  terminal?: boolean;
  /** Terminal width; lines are cut to fit so `\r` redraws never wrap. Defaults to the console's. */
  columns?: number;
  /** Cells in the bar (default 20). */
  barWidth?: number;
  /** Shortest time between redraws on a terminal (default 100 ms). */
  redrawIntervalMs?: number;
  /** Shortest time between printed lines elsewhere (default 5000 ms). */
  logIntervalMs?: number;
  /** How far back the rate looks (default 10 s). */
  rateWindowMs?: number;
}

/** `m:ss` below an hour, `h:mm:ss` above; `--:--` when unknown (NaN, infinite or negative). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** An integer with thousands separators: 60000 -> "60,000". */
export function formatCount(n: number): string {
  const rounded = Math.round(n);
  const sign = rounded < 0 ? "-" : "";
  return sign + String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** `3,412 img/s`; fewer whole units get decimals (`42.5 img/s`, `0.75 img/s`). */
export function formatRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return `-- ${unit}/s`;
  const text = perSecond >= 100
    ? formatCount(perSecond)
    : perSecond >= 10
    ? perSecond.toFixed(1)
    : perSecond.toFixed(2);
  return `${text} ${unit}/s`;
}

/**
 * `width` cells, `#` for the done fraction (rounded down, so the bar is full only when done)
 * and `.` for the rest; the fraction is clamped to [0, 1] and NaN counts as 0.
 */
export function renderBar(fraction: number, width: number): string {
  const clamped = Number.isNaN(fraction) ? 0 : Math.min(1, Math.max(0, fraction));
  const filled = Math.floor(clamped * width);
  return "#".repeat(filled) + ".".repeat(width - filled);
}

interface Sample {
  t: number;
  done: number;
}

const encoder = new TextEncoder();

/** A progress line that redraws in place on a terminal and logs sparsely elsewhere. */
export class ProgressBar {
  /** Amount of work when done. */
  readonly total: number;
  /** Text before the bar. */
  readonly label: string;
  /** What is counted (default "items"). */
  readonly unit: string;
  /** Whether the line is redrawn in place (`\r`) rather than printed as log lines. */
  readonly terminal: boolean;
  #stream: ProgressStream;
  #now: () => number;
  #columns: number;
  #barWidth: number;
  #redrawIntervalMs: number;
  #logIntervalMs: number;
  #rateWindowMs: number;
  #start: number;
  #done = 0;
  #extra = "";
  #samples: Sample[];
  #lastOutput = -Infinity;
  #drawnLength = 0;
  #finished = false;

  /** Starts the clock; nothing is printed until the first update. */
  constructor(options: ProgressBarOptions) {
    if (!(options.total >= 0) || !Number.isFinite(options.total)) {
      throw new RangeError(`ProgressBar total must be a finite number >= 0, got ${options.total}`);
    }
    this.total = options.total;
    this.label = options.label;
    this.unit = options.unit ?? "items";
    this.#stream = options.stream ?? Deno.stderr;
    this.terminal = options.terminal ?? this.#stream.isTerminal?.() ?? false;
    this.#now = options.now ?? (() => performance.now());
    this.#columns = options.columns ?? consoleColumns(this.#stream, this.terminal);
    this.#barWidth = options.barWidth ?? 20;
    this.#redrawIntervalMs = options.redrawIntervalMs ?? 100;
    this.#logIntervalMs = options.logIntervalMs ?? 5000;
    this.#rateWindowMs = options.rateWindowMs ?? 10_000;
    this.#start = this.#now();
    this.#samples = [{ t: this.#start, done: 0 }];
    // Off a terminal the first line waits a full interval: short jobs print only their end.
    if (!this.terminal) this.#lastOutput = this.#start;
  }

  /** Records progress (`done` of `total`) and redraws or logs if enough time has passed. */
  update(done: number, extra?: string): void {
    if (this.#finished) return;
    const t = this.#now();
    this.#done = done;
    if (extra !== undefined) this.#extra = extra;
    this.#record(t, done);
    const interval = this.terminal ? this.#redrawIntervalMs : this.#logIntervalMs;
    if (t - this.#lastOutput < interval) return;
    this.#lastOutput = t;
    this.#emit(this.line(t));
  }

  /**
   * Prints a message on its own line (an epoch summary, a warning) without leaving a broken
   * progress line behind; on a terminal the progress line is drawn again below it.
   */
  log(message: string): void {
    if (this.terminal && this.#drawnLength > 0 && !this.#finished) {
      this.#write(`\r${" ".repeat(this.#drawnLength)}\r${message}\n`);
      this.#drawnLength = 0;
      this.#emit(this.line(this.#now()));
    } else {
      this.#write(`${message}\n`);
    }
  }

  /** Prints the final line (average rate, total time, `summary` or the last extra text). */
  finish(summary?: string): void {
    if (this.#finished) return;
    const t = this.#now();
    this.#finished = true;
    const elapsedS = (t - this.#start) / 1000;
    const parts = [
      this.#head(),
      formatRate(elapsedS > 0 ? this.#done / elapsedS : NaN, this.unit),
      `done in ${formatDuration(elapsedS)}`,
    ];
    const tail = summary ?? this.#extra;
    if (tail) parts.push(tail);
    this.#emit(parts.join("  "));
    if (this.terminal) this.#write("\n");
  }

  /** The current progress line as it would be printed at time `t` (ms, same clock as `now`). */
  line(t = this.#now()): string {
    const rate = this.#rate(t);
    const remaining = Math.max(0, this.total - this.#done);
    const parts = [
      this.#head(),
      formatRate(rate, this.unit),
      `ETA ${formatDuration(rate > 0 ? remaining / rate : NaN)}`,
      `elapsed ${formatDuration((t - this.#start) / 1000)}`,
    ];
    if (this.#extra) parts.push(this.#extra);
    return parts.join("  ");
  }

  #head(): string {
    const fraction = this.total === 0 ? 1 : this.#done / this.total;
    const percent = `${Math.floor(Math.min(1, Math.max(0, fraction)) * 100)}%`.padStart(4);
    return `${this.label} [${renderBar(fraction, this.#barWidth)}] ${percent}  ` +
      `${formatCount(this.#done)}/${formatCount(this.total)} ${this.unit}`;
  }

  #record(t: number, done: number): void {
    const last = this.#samples[this.#samples.length - 1];
    // Work can restart lower (a retried batch): the window only makes sense when done grows.
    if (done < last.done) this.#samples = [{ t, done }];
    else if (t - last.t >= 250) this.#samples.push({ t, done });
    // Keep one sample at or before the window's start as the anchor of the rate.
    const windowStart = t - this.#rateWindowMs;
    while (this.#samples.length > 2 && this.#samples[1].t <= windowStart) this.#samples.shift();
  }

  /** Units per second over the recent window; the whole run's average while the window is short. */
  #rate(t: number): number {
    const anchor = this.#samples[0];
    const spanS = (t - anchor.t) / 1000;
    if (spanS >= 0.5) return (this.#done - anchor.done) / spanS;
    const elapsedS = (t - this.#start) / 1000;
    return elapsedS > 0 ? this.#done / elapsedS : NaN;
  }

  #emit(line: string): void {
    if (!this.terminal) {
      this.#write(`${line}\n`);
      return;
    }
    // Cut to the width: a wrapped line cannot be redrawn with `\r`. Pad over the previous one.
    const fitted = line.length > this.#columns - 1 ? line.slice(0, this.#columns - 1) : line;
    const padding = " ".repeat(Math.max(0, this.#drawnLength - fitted.length));
    this.#write(`\r${fitted}${padding}`);
    this.#drawnLength = fitted.length;
  }

  #write(text: string): void {
    const bytes = encoder.encode(text);
    let offset = 0;
    while (offset < bytes.length) offset += this.#stream.writeSync(bytes.subarray(offset));
  }
}

function consoleColumns(stream: ProgressStream, terminal: boolean): number {
  if (!terminal) return Infinity;
  // Deno.consoleSize() describes the process's console, so it only applies to stderr/stdout;
  // any other terminal stream gets the classic 80 columns.
  if (stream !== Deno.stderr && stream !== Deno.stdout) return 80;
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80; // not attached to a console after all
  }
}
