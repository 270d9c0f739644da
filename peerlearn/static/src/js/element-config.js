// Server values reach a component as JSON in its element's `data-config` attribute (rendered with
// `|tojson`), never spliced into an Alpine expression: the CSP build evaluates no code, and a value
// written into an expression could become one.

export function elementConfig(el) {
  const raw = el.dataset.config;
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    console.error('data-config is not JSON', el);
    return undefined;
  }
}

// An Alpine.data provider that hands `factory` the element's data-config. A plain function, not an
// arrow: Alpine calls providers with the element's magics as `this`.
export function configured(factory) {
  return function provider() {
    return factory(elementConfig(this.$el));
  };
}
