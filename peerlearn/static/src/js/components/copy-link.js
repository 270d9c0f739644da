// `copyLink`: a read-only link field (x-ref="url") with a button that copies it and says so for
// two seconds.
import { t } from '../i18n.js';

const COPIED_MS = 2000;

export default function copyLink() {
  let timer = null;

  return {
    copied: false,

    get label() {
      return this.copied ? t('Copied') : t('Copy link');
    },

    copy() {
      return navigator.clipboard.writeText(this.$refs.url.value).then(() => {
        this.copied = true;
        clearTimeout(timer);
        timer = setTimeout(() => {
          this.copied = false;
        }, COPIED_MS);
      });
    },

    destroy() {
      clearTimeout(timer);
    },
  };
}
