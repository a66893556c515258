// Inline SVG charts (no framework). Colours come from console.css classes (.series-0 …), never
// inline styles. Every chart has an accessible name and a text summary; pages usually show the
// figures in a table next to it as well.
const SVG = "http://www.w3.org/2000/svg";
let chartCount = 0;

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const steps = [1, 2, 2.5, 5, 10];
  return steps.map((s) => s * power).find((candidate) => candidate >= value) || value;
}

function frame(title, summary, width, height) {
  const id = `chart-${(chartCount += 1)}`;
  const svg = svgEl("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`,
    preserveAspectRatio: "xMidYMid meet",
  });
  svg.append(svgEl("title", { id: `${id}-title` }, title), svgEl("desc", { id: `${id}-desc` }, summary));
  return svg;
}

function axes(svg, { left, top, plotWidth, plotHeight, max, ticks: wanted = 4 }) {
  // small whole-number scales (counts of 1-3) get one grid line per unit, not 0.3, 0.8 …
  const ticks = Number.isInteger(max) && max < wanted ? max : wanted;
  for (let i = 0; i <= ticks; i += 1) {
    const value = (max / ticks) * i;
    const y = top + plotHeight - (plotHeight * i) / ticks;
    svg.append(svgEl("line", { x1: left, x2: left + plotWidth, y1: y, y2: y, class: "grid" }));
    svg.append(svgEl("text", { x: left - 6, y: y + 4, class: "tick", "text-anchor": "end" }, Number.isInteger(value) ? value : value.toFixed(1)));
  }
}

function legend(svg, series, x, y) {
  series.forEach((s, i) => {
    const dx = x + i * 130;
    svg.append(svgEl("rect", { x: dx, y: y - 9, width: 10, height: 10, class: `series-${s.index ?? i}` }));
    svg.append(svgEl("text", { x: dx + 14, y, class: "legend" }, s.name));
  });
}

/**
 * A bar chart: labels along the x axis, one or more series of values (grouped, or stacked
 * with `stacked: true`). Returns an <svg> element.
 * barChart({title, labels: ["Jan", …], series: [{name: "Sessions", values: [3, …]}]})
 */
export function barChart({ title, labels, series, stacked = false, width = 640, height = 260, summary }) {
  const left = 44;
  const top = 28;
  const bottom = 48;
  const plotWidth = width - left - 12;
  const plotHeight = height - top - bottom;
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (Number(s.values[i]) || 0), 0));
  const peak = stacked ? Math.max(0, ...totals) : Math.max(0, ...series.flatMap((s) => s.values.map(Number)));
  const max = niceMax(peak);
  const text =
    summary ||
    labels.map((label, i) => `${label}: ${series.map((s) => `${s.name} ${s.values[i] ?? 0}`).join(", ")}`).join("; ");
  const svg = frame(title, text, width, height);
  axes(svg, { left, top, plotWidth, plotHeight, max });
  const slot = plotWidth / Math.max(1, labels.length);
  const barWidth = stacked ? slot * 0.6 : (slot * 0.7) / Math.max(1, series.length);
  labels.forEach((label, i) => {
    let base = 0;
    series.forEach((s, j) => {
      const value = Number(s.values[i]) || 0;
      const h = (plotHeight * value) / max;
      const x = stacked ? left + slot * i + slot * 0.2 : left + slot * i + slot * 0.15 + barWidth * j;
      const y = top + plotHeight - h - (stacked ? (plotHeight * base) / max : 0);
      const bar = svgEl("rect", { x, y, width: Math.max(1, barWidth - 2), height: Math.max(0, h), class: `bar series-${s.index ?? j}` });
      bar.append(svgEl("title", {}, `${label} · ${s.name}: ${value}`));
      svg.append(bar);
      if (stacked) base += value;
    });
    const fits = Math.max(3, Math.min(14, Math.floor(slot / 6.5))); // characters that fit under one bar
    const short = String(label).length > fits ? `${String(label).slice(0, fits - 1)}…` : String(label);
    svg.append(svgEl("text", { x: left + slot * i + slot / 2, y: top + plotHeight + 16, class: "tick", "text-anchor": "middle" }, short));
  });
  legend(svg, series.map((s, i) => ({ ...s, index: s.index ?? i })), left, height - 10);
  return svg;
}

/**
 * A line chart: one point per label for each series.
 * lineChart({title, labels: ["Aug", …], series: [{name: "Events", values: [4, …]}]})
 */
export function lineChart({ title, labels, series, width = 640, height = 260, summary }) {
  const left = 44;
  const top = 28;
  const bottom = 48;
  const plotWidth = width - left - 16;
  const plotHeight = height - top - bottom;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values.map(Number))));
  const text = summary || series.map((s) => `${s.name}: ${labels.map((l, i) => `${l} ${s.values[i] ?? 0}`).join(", ")}`).join("; ");
  const svg = frame(title, text, width, height);
  axes(svg, { left, top, plotWidth, plotHeight, max });
  const step = labels.length > 1 ? plotWidth / (labels.length - 1) : 0;
  const x = (i) => left + (labels.length > 1 ? step * i : plotWidth / 2);
  const y = (v) => top + plotHeight - (plotHeight * (Number(v) || 0)) / max;
  series.forEach((s, j) => {
    const points = labels.map((_, i) => `${x(i)},${y(s.values[i])}`).join(" ");
    svg.append(svgEl("polyline", { points, class: `line series-${s.index ?? j}` }));
    labels.forEach((label, i) => {
      const dot = svgEl("circle", { cx: x(i), cy: y(s.values[i]), r: 3, class: `dot series-${s.index ?? j}` });
      dot.append(svgEl("title", {}, `${label} · ${s.name}: ${s.values[i] ?? 0}`));
      svg.append(dot);
    });
  });
  const every = Math.ceil(labels.length / 12);
  labels.forEach((label, i) => {
    if (i % every === 0) svg.append(svgEl("text", { x: x(i), y: top + plotHeight + 16, class: "tick", "text-anchor": "middle" }, label));
  });
  legend(svg, series.map((s, i) => ({ ...s, index: s.index ?? i })), left, height - 10);
  return svg;
}
