/**
 * A small SVG line chart on log-log axes, enough for the bench's figure (no dependency).
 */

/** One line of a panel. */
export interface Series {
  readonly label: string;
  readonly color: string;
  readonly dashed?: boolean;
  /** [x, y] points; points with y <= 0 or NaN are skipped. */
  readonly points: [number, number][];
}

/** One panel of the figure. */
export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: Series[];
  /** A horizontal reference line (e.g. a target). */
  readonly reference?: { y: number; label: string };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  if (v >= 1) return `${v}`;
  return v.toPrecision(1);
}

function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number): string[] {
  const out: string[] = [];
  const left = x0 + 64;
  const right = x0 + w - 12;
  const top = y0 + 28;
  const bottom = y0 + h - 44;
  const xs = p.series.flatMap((s) => s.points.map(([x]) => x)).filter((x) => x > 0);
  const ys = p.series.flatMap((s) => s.points.map(([, y]) => y)).filter((y) => y > 0 && Number.isFinite(y));
  if (p.reference) ys.push(p.reference.y);
  const xMin = 10 ** Math.floor(Math.log10(Math.min(...xs)));
  const xMax = 10 ** Math.ceil(Math.log10(Math.max(...xs)));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...ys)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys) * 1.0001));
  const sx = (x: number) => left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * (right - left);
  const sy = (y: number) => bottom - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (bottom - top);
  out.push(`<text x="${x0 + w / 2}" y="${y0 + 16}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#888"/>`);
  for (let d = Math.log10(yMin); d <= Math.log10(yMax) + 1e-9; d++) {
    const y = sy(10 ** d);
    out.push(`<line x1="${left}" x2="${right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="11">${fmt(10 ** d)}</text>`);
  }
  for (let d = Math.log10(xMin); d <= Math.log10(xMax) + 1e-9; d++) {
    const x = sx(10 ** d);
    out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top}" y2="${bottom}" stroke="#eee"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${fmt(10 ** d)}</text>`);
  }
  out.push(`<text x="${(left + right) / 2}" y="${bottom + 34}" text-anchor="middle" font-size="12">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(${x0 + 14},${(top + bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`);
  if (p.reference) {
    const y = sy(p.reference.y);
    out.push(`<line x1="${left}" x2="${right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#c00" stroke-dasharray="2,3"/>`);
    out.push(`<text x="${right - 4}" y="${(y - 4).toFixed(1)}" text-anchor="end" font-size="10" fill="#c00">${esc(p.reference.label)}</text>`);
  }
  for (const s of p.series) {
    const pts = s.points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(y)).map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
    if (pts.length === 0) continue;
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
    for (const pt of pts) {
      const [x, y] = pt.split(',');
      out.push(`<circle cx="${x}" cy="${y}" r="3" fill="${s.color}"/>`);
    }
  }
  return out;
}

/** A figure of panels in a grid, with one legend (taken from the first panel) on top. */
export function figure(title: string, panels: Panel[], columns = 2, panelWidth = 470, panelHeight = 300): string {
  const rows = Math.ceil(panels.length / columns);
  const legendHeight = 56;
  const width = columns * panelWidth;
  const height = legendHeight + rows * panelHeight;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  const legend = panels[0]?.series ?? [];
  // entries as wide as their labels (about 7 px per character), centred as a row
  const widths = legend.map((s) => 44 + s.label.length * 7);
  let x = Math.max(8, (width - widths.reduce((a, b) => a + b, 0)) / 2);
  legend.forEach((s, i) => {
    out.push(`<line x1="${x}" x2="${x + 26}" y1="40" y2="40" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="6,4"' : ''}/>`);
    out.push(`<text x="${x + 32}" y="44" font-size="12">${esc(s.label)}</text>`);
    x += widths[i];
  });
  panels.forEach((p, i) => {
    out.push(...panelSvg(p, (i % columns) * panelWidth, legendHeight + Math.floor(i / columns) * panelHeight, panelWidth, panelHeight));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
