// Shows the chosen image before upload and turns away files the server would reject anyway.
// Markup binds `preview` (image URL or ''), `error`, and calls `pick($event)` on the file input's change.
import { t } from '../i18n.js';

const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
const ALLOWED_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

function megabytes(bytes) {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
}

export default function avatarPreview() {
  return {
    preview: '',
    initialSrc: '',
    objectUrl: null,
    error: '',
    fileName: '',

    init() {
      this.initialSrc = this.$root.dataset.currentSrc || '';
      this.preview = this.initialSrc;
    },

    destroy() {
      this.revoke();
    },

    get maxBytes() {
      return Number(this.$root.dataset.maxBytes) || DEFAULT_MAX_BYTES;
    },

    revoke() {
      if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
      this.objectUrl = null;
    },

    reset(input) {
      input.value = '';
      this.revoke();
      this.preview = this.initialSrc;
      this.fileName = '';
    },

    pick(event) {
      const input = event.target;
      const file = input.files && input.files[0];
      this.error = '';
      if (!file) {
        this.reset(input);
        return;
      }
      if (file.type && !ALLOWED_TYPES.includes(file.type)) {
        this.reset(input);
        this.error = t('Choose a PNG, JPEG or WebP image.');
        return;
      }
      if (file.size > this.maxBytes) {
        this.reset(input);
        this.error = t('That image is %(size)s; the limit is %(limit)s.', {
          size: megabytes(file.size),
          limit: megabytes(this.maxBytes),
        });
        return;
      }
      this.revoke();
      this.objectUrl = URL.createObjectURL(file);
      this.preview = this.objectUrl;
      this.fileName = file.name;
    },
  };
}
