// Text in the page's language for scripts. The layout puts the translations this page's scripts
// may need in <script type="application/json" id="js-texts"> (a data block: the content security
// policy runs no inline script), keyed by the English text; `t` called with the English gives the
// page's language's text, or the English when there is none (an English page has no block).
// Placeholders are written as in the server's texts, "%(name)s added.", and filled from the
// values given with it. Every call to `t` takes its English as a literal string: the server finds
// the texts to send by reading these files (peerlearn/i18n.py, js_messages), and the translation
// audit checks that each has its Hindi.

let texts = null;

function loaded() {
  if (texts === null) {
    const block = document.getElementById('js-texts');
    try {
      texts = block ? JSON.parse(block.textContent) : {};
    } catch {
      texts = {};
    }
  }
  return texts;
}

export function t(english, values) {
  const text = loaded()[english] || english;
  if (!values) return text;
  return text.replace(/%\((\w+)\)[sd]/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

// The page's language ("en", "hi"), for Intl formatters: the <html lang> the server wrote.
export function pageLanguage() {
  return document.documentElement.lang || 'en';
}

// Indian digit grouping in both languages, Latin digits: 100000 -> "1,00,000".
export function formatCount(number) {
  return new Intl.NumberFormat('en-IN').format(number);
}
