// Text in the page's language for scripts. The layout puts the translations this page's scripts
// may need in <script type="application/json" id="js-texts"> (a data block: the content security
// policy runs no inline script), keyed by the English text; `t` called with the English gives the
// page's language's text, or the English when there is none (an English page has no block).
// Placeholders are written as in the server's texts, "%(name)s added.", and filled from the
// values given with it. Every call to `t` takes its English as a literal string: the server finds
// the texts to send by reading these files (peerlearn/i18n.py, js_messages), and the translation
// audit checks that each has its Hindi.
//
// A text with a count takes its singular and plural English, `tn('%(num)s day', '%(num)s days',
// days, { num: days })`: the block carries its translation's forms, [for one, for more], under
// the singular, and the count picks one by the page language's plural rule: CLDR's, as Babel
// has it on the server and Intl.PluralRules in the browser ("one" takes the first form).

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

function filled(text, values) {
  if (!values) return text;
  return text.replace(/%\((\w+)\)[sd]/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

export function t(english, values) {
  const text = loaded()[english];
  return filled(typeof text === 'string' && text ? text : english, values);
}

const pluralRules = {};

// Which of a text's two forms `count` takes in the page's language: 0 for "one", else 1.
export function pluralForm(count, language = pageLanguage()) {
  if (!(language in pluralRules)) pluralRules[language] = new Intl.PluralRules(language);
  return pluralRules[language].select(count) === 'one' ? 0 : 1;
}

export function tn(singular, plural, count, values) {
  const forms = loaded()[singular];
  const texts = Array.isArray(forms) && forms.length === 2 ? forms : [singular, plural];
  return filled(texts[pluralForm(count)], values);
}

// The page's language ("en", "hi"), for Intl formatters: the <html lang> the server wrote.
export function pageLanguage() {
  return document.documentElement.lang || 'en';
}

// Indian digit grouping in both languages, Latin digits: 100000 -> "1,00,000".
export function formatCount(number) {
  return new Intl.NumberFormat('en-IN').format(number);
}
