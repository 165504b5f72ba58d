// The geometry of the reports' SVG charts, kept pure so it is tested without a browser.

export interface Measure {
  key: string;
  label: string;
  value: number; // a share, 0 to 1
  detail: string; // what a reader hears and sees on hover
}

export interface BarShape extends Measure {
  y: number;
  width: number;
  short: boolean; // below the target
}

export const BAR = { label: 190, plot: 360, row: 24, gap: 6, top: 22 };

/** One bar per measure, top to bottom in the given order, scaled to the plot's width. */
export function barShapes(measures: Measure[], target: number): BarShape[] {
  return measures.map((m, i) => ({
    ...m,
    y: BAR.top + i * (BAR.row + BAR.gap),
    width: Math.max(0, Math.min(1, m.value)) * BAR.plot,
    short: m.value < target,
  }));
}

export function barChartHeight(count: number): number {
  return BAR.top + Math.max(1, count) * (BAR.row + BAR.gap) + 18; // room for the target's label
}

export interface Point {
  at: number; // ms since the epoch
  value: number | null;
}

export const LINE = { width: 640, height: 220, left: 44, right: 12, top: 12, bottom: 28 };

export function xScale(first: number, last: number): (at: number) => number {
  const span = Math.max(1, last - first);
  const width = LINE.width - LINE.left - LINE.right;
  return (at) => LINE.left + ((at - first) / span) * width;
}

export function yScale(share: number): number {
  const height = LINE.height - LINE.top - LINE.bottom;
  return LINE.top + (1 - Math.max(0, Math.min(1, share))) * height;
}

/** An SVG path through the points; a point without a value breaks the line there. */
export function linePath(points: Point[], x: (at: number) => number): string {
  let path = "";
  let drawing = false;
  for (const p of points) {
    if (p.value === null) {
      drawing = false;
      continue;
    }
    path += `${drawing ? "L" : "M"}${x(p.at).toFixed(1)},${yScale(p.value).toFixed(1)}`;
    drawing = true;
  }
  return path;
}
