// Chip input for skills and interests.
//
// The form posts a plain hidden input (x-ref="hidden") whose value is the tags joined with
// ", "; the chips and the text box are only a way to edit it. Suggestions come from
// POST <data-suggest-url> with {"query", "selected", "limit"}, answering
// {"success": true, "data": {"suggestions": [{name, ...}], "related": [{name, because, ...}]}}:
// matches for the text (typos and aliases forgiven) and skills people often list with the tags.
import { sendJSON } from '../http.js';
import { t } from '../i18n.js';

const MAX_TAGS = 20;
const MAX_TAG_LENGTH = 60;
const MAX_SUGGESTIONS = 8;
const MAX_RELATED = 5;
const DEBOUNCE_MS = 150;

export function cleanTag(text) {
  return String(text || '')
    .normalize('NFKC')
    .replace(/\s+/g, ' ')
    .trim();
}

function tagKey(text) {
  return cleanTag(text).toLocaleLowerCase();
}

export function parseTags(value) {
  const seen = new Set();
  const tags = [];
  for (const part of String(value || '').split(',')) {
    const tag = cleanTag(part);
    if (tag && !seen.has(tagKey(tag))) {
      seen.add(tagKey(tag));
      tags.push(tag);
    }
  }
  return tags;
}

export default function tagInput() {
  // Kept outside Alpine's reactive state: none of these affect what is drawn.
  const cache = new Map();
  let debounceTimer = null;
  let relatedTimer = null;
  let inFlight = null;
  let relatedInFlight = null;
  let form = null;
  let onSubmit = null;

  return {
    tags: [],
    query: '',
    suggestions: [],
    // Skills people often list with these tags: offered as one-click chips after a tag is added.
    related: [],
    active: -1,
    open: false,
    message: '',
    announcement: '',
    maxTags: MAX_TAGS,

    init() {
      this.maxTags = Number(this.$root.dataset.maxTags) || MAX_TAGS;
      this.tags = parseTags(this.$refs.hidden.value)
        .filter((tag) => tag.length <= MAX_TAG_LENGTH)
        .slice(0, this.maxTags);
      this.sync(false);

      // Text still in the box when the form is sent counts as a tag.
      form = this.$refs.hidden.form;
      if (form) {
        onSubmit = () => this.commitQuery();
        form.addEventListener('submit', onSubmit, { capture: true });
      }
    },

    destroy() {
      clearTimeout(debounceTimer);
      clearTimeout(relatedTimer);
      if (inFlight) inFlight.abort();
      if (relatedInFlight) relatedInFlight.abort();
      if (form && onSubmit) form.removeEventListener('submit', onSubmit, { capture: true });
    },

    get full() {
      return this.tags.length >= this.maxTags;
    },

    optionId(index) {
      return `${this.$refs.list.id}-${index}`;
    },

    get activeDescendant() {
      return this.open && this.active >= 0 ? this.optionId(this.active) : null;
    },

    sync(notify = true) {
      const hidden = this.$refs.hidden;
      hidden.value = this.tags.join(', ');
      if (notify) hidden.dispatchEvent(new Event('change', { bubbles: true }));
    },

    // Returns 'added', 'empty', 'duplicate', 'too-long' or 'full'.
    add(raw) {
      const tag = cleanTag(raw);
      if (!tag) return 'empty';
      if (this.tags.some((existing) => tagKey(existing) === tagKey(tag))) {
        this.message = t('“%(tag)s” is already added.', { tag });
        return 'duplicate';
      }
      if (tag.length > MAX_TAG_LENGTH) {
        this.message = t('Keep each one to %(num)s characters or fewer.', { num: MAX_TAG_LENGTH });
        return 'too-long';
      }
      if (this.full) {
        this.message = t('You can add up to %(num)s.', { num: this.maxTags });
        return 'full';
      }
      this.tags.push(tag);
      this.message = '';
      this.announcement = t('%(tag)s added.', { tag });
      this.sync();
      this.scheduleRelated();
      return 'added';
    },

    // Labels the chips and suggestions read out, in the page's language.
    removeLabel(tag) {
      return t('Remove %(tag)s', { tag });
    },

    addLabel(item) {
      return t('Add %(tag)s', { tag: item.name });
    },

    relatedTitle(item) {
      return t('Often listed with %(tag)s', { tag: item.because });
    },

    remove(index) {
      const [removed] = this.tags.splice(index, 1);
      if (removed === undefined) return;
      this.message = '';
      this.announcement = t('%(tag)s removed.', { tag: removed });
      this.sync();
      if (this.related.length) this.scheduleRelated();
      this.$refs.text.focus();
    },

    commitQuery() {
      const parts = this.query.split(',');
      const outcomes = parts.map((part) => [part, this.add(part)]);
      // Keep text that could not be added so nothing typed silently disappears.
      const rejected = outcomes
        .filter(([, outcome]) => outcome === 'too-long' || outcome === 'full')
        .map(([part]) => part);
      this.query = rejected.length ? rejected.map(cleanTag).join(', ') : '';
      this.closeSuggestions();
    },

    choose(suggestion) {
      this.add(suggestion);
      this.query = '';
      this.closeSuggestions();
      this.$refs.text.focus();
    },

    chooseRelated(name) {
      this.add(name);
      this.$refs.text.focus();
    },

    onInput() {
      // A typed or pasted comma finishes every tag before it.
      if (this.query.includes(',')) {
        const parts = this.query.split(',');
        const rest = parts.pop();
        // A part that cannot be added is dropped here; `message` says why.
        parts.forEach((part) => this.add(part));
        this.query = rest.trimStart();
      }
      this.scheduleSuggestions();
    },

    onKeydown(event) {
      if (event.isComposing) return;
      const count = this.suggestions.length;
      switch (event.key) {
        case 'ArrowDown':
          if (!count) return;
          event.preventDefault();
          this.open = true;
          this.active = (this.active + 1) % count;
          this.revealActive();
          break;
        case 'ArrowUp':
          if (!count) return;
          event.preventDefault();
          this.open = true;
          this.active = this.active <= 0 ? count - 1 : this.active - 1;
          this.revealActive();
          break;
        case 'Enter':
          if (this.open && this.active >= 0) {
            event.preventDefault();
            this.choose(this.suggestions[this.active]);
          } else if (cleanTag(this.query)) {
            // Enter adds the tag instead of submitting the form; an empty box submits.
            event.preventDefault();
            this.commitQuery();
          }
          break;
        case ',':
          event.preventDefault();
          this.commitQuery();
          break;
        case 'Escape':
          if (this.open) {
            event.preventDefault();
            event.stopPropagation();
            this.closeSuggestions();
          } else if (this.query) {
            event.preventDefault();
            this.query = '';
          }
          break;
        case 'Backspace':
          if (this.query === '' && this.tags.length) {
            event.preventDefault();
            this.remove(this.tags.length - 1);
          }
          break;
        case 'Tab':
          this.closeSuggestions();
          break;
        default:
      }
    },

    revealActive() {
      this.$nextTick(() => {
        const option = document.getElementById(this.optionId(this.active));
        if (option) option.scrollIntoView({ block: 'nearest' });
      });
    },

    closeSuggestions() {
      clearTimeout(debounceTimer);
      if (inFlight) inFlight.abort();
      inFlight = null;
      this.open = false;
      this.active = -1;
      this.suggestions = [];
    },

    scheduleSuggestions() {
      clearTimeout(debounceTimer);
      const text = cleanTag(this.query);
      const url = this.$root.dataset.suggestUrl;
      if (!text || !url) {
        this.closeSuggestions();
        return;
      }
      debounceTimer = setTimeout(() => this.fetchSuggestions(url, text), DEBOUNCE_MS);
    },

    // The server's answer for this text and these tags, cached per page. Throws on failure.
    async ask(url, text, signal) {
      const cacheKey = [tagKey(text), ...this.tags.map(tagKey)].join('\n');
      if (cache.has(cacheKey)) return cache.get(cacheKey);
      const payload = await sendJSON(
        url,
        { query: text, selected: this.tags, limit: MAX_SUGGESTIONS },
        { signal },
      );
      const data = (payload && payload.data) || {};
      const named = (items) =>
        Array.isArray(items) ? items.filter((item) => item && typeof item.name === 'string') : [];
      const answer = {
        suggestions: named(data.suggestions).map((item) => item.name),
        related: named(data.related),
      };
      cache.set(cacheKey, answer);
      return answer;
    },

    async fetchSuggestions(url, text) {
      if (inFlight) inFlight.abort();
      const controller = new AbortController();
      inFlight = controller;
      try {
        const answer = await this.ask(url, text, controller.signal);
        // Drop answers to a question the user is no longer asking.
        if (tagKey(this.query) === tagKey(text)) this.showSuggestions(answer.suggestions);
      } catch (error) {
        // Suggestions are a convenience: on failure the user simply keeps typing.
        if (error.name !== 'AbortError') this.closeSuggestions();
      } finally {
        if (inFlight === controller) inFlight = null;
      }
    },

    scheduleRelated() {
      clearTimeout(relatedTimer);
      const url = this.$root.dataset.suggestUrl;
      if (!url || !this.tags.length || this.full) {
        this.related = [];
        return;
      }
      relatedTimer = setTimeout(() => this.fetchRelated(url), DEBOUNCE_MS);
    },

    async fetchRelated(url) {
      if (relatedInFlight) relatedInFlight.abort();
      const controller = new AbortController();
      relatedInFlight = controller;
      try {
        const answer = await this.ask(url, '', controller.signal);
        const chosen = new Set(this.tags.map(tagKey));
        this.related = answer.related
          .filter((item) => !chosen.has(tagKey(item.name)))
          .slice(0, MAX_RELATED);
      } catch (error) {
        if (error.name !== 'AbortError') this.related = [];
      } finally {
        if (relatedInFlight === controller) relatedInFlight = null;
      }
    },

    showSuggestions(list) {
      const chosen = new Set(this.tags.map(tagKey));
      this.suggestions = list.filter((name) => !chosen.has(tagKey(name))).slice(0, MAX_SUGGESTIONS);
      this.active = -1;
      this.open = this.suggestions.length > 0;
    },
  };
}
