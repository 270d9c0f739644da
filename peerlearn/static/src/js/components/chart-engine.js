// Draws dashboard charts with uPlot (a small canvas charting library). Loaded lazily by
// charts.js. A spec is {id, kind, unit, labels, series: [{label, values}]} where kind is
// bar, line, stacked (bars of several series on top of each other) or grouped (bars side by
// side); unit is inr (values in paise), count, rating or percent.

import uPlot from 'uplot';
import uPlotCss from 'uplot/dist/uPlot.min.css';

const PALETTE = ['#5b3fd8', '#0d9488', '#f59e0b', '#e11d48', '#0284c7', '#65a30d', '#9ca3af'];
const HEIGHT = 220;
const COUNT_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

let styled = false;

function addStyles() {
  if (styled) return;
  const style = document.createElement('style');
  style.textContent = `${uPlotCss}\n.uplot{width:100%;font-family:inherit}.u-legend{font-size:.8125rem;color:#4b5563}`;
  document.head.appendChild(style);
  styled = true;
}

const rupees = new Intl.NumberFormat('en-IN', { style: 'currency', currency: 'INR', maximumFractionDigits: 0 });
const rupeesExact = new Intl.NumberFormat('en-IN', {
  style: 'currency',
  currency: 'INR',
  minimumFractionDigits: 0,
  maximumFractionDigits: 2,
});

export function formatValue(value, unit, exact = true) {
  if (value === null || value === undefined) return '—';
  if (unit === 'inr') return (exact ? rupeesExact : rupees).format(value / 100);
  if (unit === 'rating') return value.toFixed(exact ? 2 : 0);
  if (unit === 'percent') return `${Math.round(value * 1000) / 10}%`;
  return String(value);
}

function shortLabel(text, max = 14) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// Series drawn on top of each other: each bar reaches the sum of its own and the later series'
// values, drawn largest first, so every series shows as its own slice of one column.
function stackedValues(series) {
  const sums = series.map((s) => s.values.map((v) => v || 0));
  for (let i = sums.length - 2; i >= 0; i -= 1) {
    sums[i] = sums[i].map((v, j) => v + sums[i + 1][j]);
  }
  return sums;
}

function barPaths(kind, index, count) {
  if (kind === 'grouped' && count > 1) {
    return uPlot.paths.bars({ size: [0.8 / count, 40], align: index === 0 ? -1 : 1 });
  }
  return uPlot.paths.bars({ size: [0.6, 48], align: 0 });
}

function yAxisOptions(unit) {
  const axis = { stroke: '#6b7280', grid: { stroke: '#f3f4f6' }, ticks: { show: false }, size: 56 };
  if (unit === 'inr') {
    axis.incrs = COUNT_STEPS.map((step) => step * 100);
    axis.values = (u, splits) => splits.map((v) => formatValue(v, 'inr', false));
  } else if (unit === 'rating') {
    axis.incrs = [1];
  } else {
    axis.incrs = COUNT_STEPS;
  }
  return axis;
}

export function chartOptions(spec, width) {
  const { kind, unit, labels } = spec;
  const count = spec.series.length;
  const x = labels.map((_, i) => i);
  const drawn = kind === 'stacked' ? stackedValues(spec.series) : spec.series.map((s) => s.values);
  const series = [
    { label: spec.x_label || '', value: (u, i) => (i === null || i === undefined ? '' : labels[i]) },
    ...spec.series.map((s, index) => {
      const colour = PALETTE[Math.min(index, PALETTE.length - 1)];
      const common = {
        label: s.label,
        stroke: colour,
        // The legend shows the series' own value, not the stacked height.
        value: (u, v, si, i) => (i === null || i === undefined ? '' : formatValue(s.values[i], unit)),
      };
      if (kind === 'line') {
        return { ...common, width: 2, points: { show: true, size: 7, fill: colour }, spanGaps: false };
      }
      return { ...common, fill: colour, width: 0, paths: barPaths(kind, index, count), points: { show: false } };
    }),
  ];
  const y = unit === 'rating' ? { range: [0, 5] } : { range: (u, min, max) => [0, Math.max(1, max)] };
  return {
    options: {
      width,
      height: HEIGHT,
      series,
      legend: { show: true },
      cursor: { points: { show: kind === 'line' }, drag: { x: false, y: false } },
      scales: { x: { time: false, range: () => [-0.5, labels.length - 0.5] }, y },
      axes: [
        {
          stroke: '#6b7280',
          grid: { show: false },
          ticks: { show: false },
          // Room for the longest label, in px (about 7 per character at the axis' font size).
          space: 16 + 7 * Math.max(1, ...labels.map((label) => shortLabel(label).length)),
          incrs: [1, 2, 3, 4, 6, 12, 24],
          // Count back from the last period, so the current week or month always has its label.
          splits: (u, axis, min, max, step) => {
            const at = [];
            for (let i = labels.length - 1; i >= 0; i -= step) at.unshift(i);
            return at;
          },
          values: (u, splits) => splits.map((i) => (labels[i] ? shortLabel(labels[i]) : '')),
        },
        yAxisOptions(unit),
      ],
    },
    data: [x, ...drawn],
  };
}

export function drawChart(element, spec) {
  addStyles();
  const width = () => Math.max(240, Math.floor(element.clientWidth || 480));
  const { options, data } = chartOptions(spec, width());
  const plot = new uPlot(options, data, element);
  let drawnWidth = options.width;
  const observer = new ResizeObserver(() => {
    if (width() === drawnWidth) return;
    drawnWidth = width();
    plot.setSize({ width: drawnWidth, height: HEIGHT });
  });
  observer.observe(element);
  return {
    plot,
    destroy() {
      observer.disconnect();
      plot.destroy();
    },
  };
}
