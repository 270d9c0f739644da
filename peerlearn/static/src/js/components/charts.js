// `dashboardChart`: one chart of a dashboard, drawn from the JSON the server embedded in the page
// (<script type="application/json" id="dashboard-charts">, keyed by chart id). The charting
// library is a separate chunk (chart-engine.js, with uPlot), imported by the first chart on a
// page, so pages without charts never download it. Each chart's figures are also in a table
// beside it, which is what screen readers read.

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

function loadEngine() {
  engine = engine || import('./chart-engine.js');
  return engine;
}

export default function dashboardChart(id) {
  // Kept in this closure, not on the component, so Alpine never wraps it in a reactive proxy.
  let chart = null;

  return {
    async init() {
      const spec = chartSpecs()[id];
      if (!spec) return;
      try {
        const { drawChart } = await loadEngine();
        chart = drawChart(this.$el, spec);
        this.$el.dataset.chartReady = 'true';
      } catch (error) {
        // The table beside the chart still carries every figure.
        this.$el.dataset.chartReady = 'failed';
        console.error('chart not drawn', error);
      }
    },

    destroy() {
      if (chart) chart.destroy();
      chart = null;
    },
  };
}
