export interface Range {
  lo: number;
  hi: number;
}

export function clampRange(value: number, lo: number, hi: number): Range {
  if (lo > hi) {
    throw new Error("lo > hi");
  }
  const v = Math.min(Math.max(value, lo), hi);
  return { lo: v, hi: hi };
}
