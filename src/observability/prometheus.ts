/**
 * A small, dependency-free metrics registry rendering the Prometheus text exposition
 * format 0.0.4. Runtime-neutral (Node, Bun, Deno, workers): no timers, no process APIs.
 *
 * Label sets are bounded: each family keeps at most `maxSeries` label combinations and
 * ignores new ones beyond that, so a labelling mistake cannot grow memory without end.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DEFAULT_MAX_SERIES = 500;

/** Label values by label name; every declared label must be given. */
export type Labels<L extends string> = { readonly [K in L]: string | number };

/** `\` and newlines in HELP text (format 0.0.4). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `\`, `"` and newlines in label values (format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus parses it (Go's float syntax for the special values). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function labelText(names: readonly string[], values: readonly string[], extra?: readonly [string, string]): string {
  const pairs = names.map((name, index) => `${name}="${escapeLabelValue(values[index]!)}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

export interface FamilyOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
  /** At most this many label combinations are kept; default 500. */
  readonly maxSeries?: number;
}

abstract class Family<L extends string, S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  protected readonly series = new Map<string, { readonly values: readonly string[]; state: S }>();
  readonly #maxSeries: number;

  constructor(options: FamilyOptions<L>, reserved: readonly string[] = []) {
    if (!METRIC_NAME.test(options.name)) throw new Error(`invalid metric name ${JSON.stringify(options.name)}`);
    const labelNames = options.labelNames ?? [];
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__') || reserved.includes(label)) {
        throw new Error(`invalid label name ${JSON.stringify(label)} for ${options.name}`);
      }
    }
    if (new Set(labelNames).size !== labelNames.length) throw new Error(`duplicate label name for ${options.name}`);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = labelNames;
    this.#maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  }

  protected abstract initial(): S;

  /** The state of one label combination, created on first use; undefined once the family is full. */
  protected stateFor(labels: Labels<L> | undefined): S | undefined {
    // Called on every request: the key is built without intermediate arrays.
    let key = '';
    for (let i = 0; i < this.labelNames.length; i++) {
      const name = this.labelNames[i]!;
      const value = labels?.[name];
      if (value === undefined) throw new Error(`metric ${this.name}: missing label ${name}`);
      key = i === 0 ? String(value) : `${key}\u0000${value}`;
    }
    let entry = this.series.get(key);
    if (entry === undefined) {
      if (this.series.size >= this.#maxSeries) return undefined;
      entry = { values: this.labelNames.map((name) => String(labels![name])), state: this.initial() };
      this.series.set(key, entry);
    }
    return entry.state;
  }

  /** The current state of one label combination, without creating it. */
  protected peek(labels: Labels<L> | undefined): S | undefined {
    const key = this.labelNames.map((name) => String(labels?.[name])).join('\u0000');
    return this.series.get(key)?.state;
  }

  protected abstract sampleLines(values: readonly string[], state: S): string[];

  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { values, state } of this.series.values()) lines.push(...this.sampleLines(values, state));
    return lines.join('\n');
  }
}

/** A value that only goes up (resets with the process). */
export class Counter<L extends string = never> extends Family<L, { value: number }> {
  readonly type = 'counter';

  protected initial() {
    return { value: 0 };
  }

  inc(labels?: Labels<L>, by = 1): void {
    if (!(by >= 0)) throw new Error(`counter ${this.name} cannot decrease`);
    const state = this.stateFor(labels);
    if (state) state.value += by;
  }

  /** The current value (0 for a label set never seen); for tests and collectors. */
  get(labels?: Labels<L>): number {
    return this.peek(labels)?.value ?? 0;
  }

  protected sampleLines(values: readonly string[], state: { value: number }): string[] {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatValue(state.value)}`];
  }
}

/** A value that goes up and down, or is read when scraped (`collect`). */
export class Gauge<L extends string = never> extends Family<L, { value: number }> {
  readonly type = 'gauge';
  readonly #collect: (() => number | undefined) | undefined;

  /** `collect`, for a gauge without labels: read at every render; undefined leaves the sample out. */
  constructor(options: FamilyOptions<L> & { readonly collect?: () => number | undefined }) {
    super(options);
    this.#collect = options.collect;
  }

  protected initial() {
    return { value: 0 };
  }

  set(labels: Labels<L> | undefined, value: number): void {
    const state = this.stateFor(labels);
    if (state) state.value = value;
  }

  inc(labels?: Labels<L>, by = 1): void {
    const state = this.stateFor(labels);
    if (state) state.value += by;
  }

  dec(labels?: Labels<L>, by = 1): void {
    this.inc(labels, -by);
  }

  get(labels?: Labels<L>): number {
    return this.peek(labels)?.value ?? 0;
  }

  protected sampleLines(values: readonly string[], state: { value: number }): string[] {
    return [`${this.name}${labelText(this.labelNames, values)} ${formatValue(state.value)}`];
  }

  override render(): string {
    if (this.#collect) {
      let value: number | undefined;
      try {
        value = this.#collect();
      } catch {
        value = undefined;
      }
      if (value === undefined) this.series.clear();
      else this.set(undefined, value);
    }
    return super.render();
  }
}

interface HistogramState {
  /** Per bucket, not cumulative; the last slot is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Prometheus client libraries' default buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Observations counted into buckets; rendered as cumulative `_bucket{le=…}`, `_sum` and `_count`. */
export class Histogram<L extends string = never> extends Family<L, HistogramState> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(options: FamilyOptions<L> & { readonly buckets?: readonly number[] }) {
    super(options, ['le']);
    const buckets = [...(options.buckets ?? DEFAULT_BUCKETS)].filter((bound) => bound !== Infinity);
    for (let index = 0; index < buckets.length; index++) {
      if (!Number.isFinite(buckets[index]) || (index > 0 && buckets[index]! <= buckets[index - 1]!)) {
        throw new Error(`histogram ${options.name}: buckets must be finite and strictly increasing`);
      }
    }
    this.buckets = buckets;
  }

  protected initial(): HistogramState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  observe(labels: Labels<L> | undefined, value: number): void {
    if (Number.isNaN(value)) return;
    const state = this.stateFor(labels);
    if (!state) return;
    let index = this.buckets.findIndex((bound) => value <= bound);
    if (index === -1) index = this.buckets.length;
    state.counts[index]!++;
    state.sum += value;
    state.count++;
  }

  /** Count and sum of one label set; for tests. */
  get(labels?: Labels<L>): { count: number; sum: number } {
    const state = this.peek(labels);
    return { count: state?.count ?? 0, sum: state?.sum ?? 0 };
  }

  protected sampleLines(values: readonly string[], state: HistogramState): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    const bounds = [...this.buckets, Infinity];
    bounds.forEach((bound, index) => {
      cumulative += state.counts[index]!;
      lines.push(`${this.name}_bucket${labelText(this.labelNames, values, ['le', formatValue(bound)])} ${cumulative}`);
    });
    const labels = labelText(this.labelNames, values);
    lines.push(`${this.name}_sum${labels} ${formatValue(state.sum)}`, `${this.name}_count${labels} ${state.count}`);
    return lines;
  }
}

type AnyFamily = Counter<string> | Gauge<string> | Histogram<string>;

/** A set of metric families, rendered together in registration order. */
export class Registry {
  readonly #families = new Map<string, AnyFamily>();

  #add<F extends AnyFamily>(family: F): F {
    if (this.#families.has(family.name)) throw new Error(`metric ${family.name} is already registered`);
    this.#families.set(family.name, family);
    return family;
  }

  counter<L extends string = never>(options: FamilyOptions<L>): Counter<L> {
    return this.#add(new Counter<L>(options) as unknown as AnyFamily) as unknown as Counter<L>;
  }

  gauge<L extends string = never>(options: FamilyOptions<L> & { readonly collect?: () => number | undefined }): Gauge<L> {
    return this.#add(new Gauge<L>(options) as unknown as AnyFamily) as unknown as Gauge<L>;
  }

  histogram<L extends string = never>(options: FamilyOptions<L> & { readonly buckets?: readonly number[] }): Histogram<L> {
    return this.#add(new Histogram<L>(options) as unknown as AnyFamily) as unknown as Histogram<L>;
  }

  /** The text exposition format 0.0.4, ending with a newline. */
  render(): string {
    return [...this.#families.values()].map((family) => family.render()).join('\n') + '\n';
  }
}
