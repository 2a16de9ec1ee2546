/** Milliseconds since the epoch; passed in everywhere so tests can move time. */
export type Clock = () => number;
