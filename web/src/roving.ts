// One tab stop for a whole set of marks (the WAI-ARIA "roving tabindex"): Tab enters the set
// once and leaves it with the next press; the arrows, Home and End move among the marks. With
// thousands of incidents on the map, a tab stop per mark would trap a keyboard user.

const STEPS: Partial<Record<string, (at: number, count: number) => number>> = {
  ArrowRight: (at, count) => (at + 1) % count,
  ArrowDown: (at, count) => (at + 1) % count,
  ArrowLeft: (at, count) => (at - 1 + count) % count,
  ArrowUp: (at, count) => (at - 1 + count) % count,
  Home: () => 0,
  End: (_at, count) => count - 1,
};

/** Where a key moves the focus from mark `at` of `count`, or null for a key the set ignores. */
export function rovingStep(key: string, at: number, count: number): number | null {
  const step = STEPS[key];
  return step && count > 0 ? step(at, count) : null;
}

/** The mark that holds the set's tab stop: the last one focused, else the selected, else the first. */
export function tabStopOf(ids: string[], focused: string | null, selected: string | null): string | null {
  if (focused && ids.includes(focused)) return focused;
  if (selected && ids.includes(selected)) return selected;
  return ids[0] ?? null;
}
