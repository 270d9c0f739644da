// `timezonePicker`: a search box that narrows the timezone <select> in the same element to the
// options whose label, English label (data-search, on a page in another language) or name holds
// every typed word ("kolk", "कोलकाता", "london", "utc+05:30"), hiding empty optgroups. When the
// chosen zone is filtered out, the first match is chosen, so the closed select always shows a zone
// that fits the search (browsers that ignore hidden options still work).
import { t, tn } from '../i18n.js';

function words(text) {
  return text.toLowerCase().replace(/_/g, ' ').split(/\s+/).filter(Boolean);
}

export default function timezonePicker() {
  return {
    status: '',

    filter(query) {
      const select = this.$root.querySelector('select');
      const wanted = words(query);
      let shown = 0;
      for (const option of select.options) {
        const names = `${option.textContent} ${option.dataset.search || ''} ${option.value}`;
        const haystack = names.toLowerCase().replace(/_/g, ' ');
        option.hidden = !wanted.every((word) => haystack.includes(word));
        if (!option.hidden) shown += 1;
      }
      for (const group of select.querySelectorAll('optgroup')) {
        group.hidden = ![...group.children].some((option) => !option.hidden);
      }
      const chosen = select.options[select.selectedIndex];
      if (wanted.length && shown && (!chosen || chosen.hidden)) {
        select.value = [...select.options].find((option) => !option.hidden).value;
        select.dispatchEvent(new Event('change', { bubbles: true }));
      }
      if (!wanted.length) this.status = '';
      else if (!shown) this.status = t('No timezone matches.');
      else this.status = tn('%(num)s timezone matches.', '%(num)s timezones match.', shown, { num: shown });
    },
  };
}
