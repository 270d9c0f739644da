// `dashboardChart`: one chart of a dashboard, drawn from the JSON the server embedded in the page
// (<script type="application/json" id="dashboard-charts">, keyed by chart id). The charting
// library is a separate chunk (chart-engine.js, with uPlot), imported by the first chart on a
// page, so pages without charts never download it. Each chart's figures are also in a table
// beside it, which is what screen readers read.
//
// Charts sit below the fold of every dashboard, on a phone and on a laptop: a chart is drawn (and
// the engine, the largest chunk of the site, downloaded and run) when it comes within REACH of
// the viewport, not while the page loads. Its box keeps its height meanwhile, so nothing moves.

let specs = null;
let engine = null;

function chartSpecs() {
  if (specs === null) {
    const node = document.getElementById('dashboard-charts');
    try {
      specs = node ? JSON.parse(node.textContent) : {};
    } catch {
      specs = {};
    }
  }
  return specs;
}

const REACH = '200px';

function loadEngine() {
  engine = engine || import('./chart-engine.js');
  return engine;
}

// Calls `draw` once `el` is within REACH of the viewport; returns a function that cancels it.
function whenNear(el, draw) {
  if (!('IntersectionObserver' in window)) {
    draw();
    return () => {};
  }
  const observer = new IntersectionObserver(
    (entries) => {
      if (!entries.some((entry) => entry.isIntersecting)) return;
      observer.disconnect();
      draw();
    },
    { rootMargin: `${REACH} 0px` },
  );
  observer.observe(el);
  return () => observer.disconnect();
}

export default function dashboardChart(id) {
  // Kept in this closure, not on the component, so Alpine never wraps it in a reactive proxy.
  let chart = null;
  let cancel = null;
  let destroyed = false;

  async function draw(el, spec) {
    try {
      const { drawChart } = await loadEngine();
      if (destroyed) return;
      chart = drawChart(el, spec);
      el.dataset.chartReady = 'true';
    } catch (error) {
      // The table beside the chart still carries every figure.
      el.dataset.chartReady = 'failed';
      console.error('chart not drawn', error);
    }
  }

  return {
    init() {
      const spec = chartSpecs()[id];
      if (!spec) return;
      const el = this.$el;
      cancel = whenNear(el, () => draw(el, spec));
    },

    destroy() {
      destroyed = true;
      if (cancel) cancel();
      if (chart) chart.destroy();
      chart = null;
    },
  };
}
