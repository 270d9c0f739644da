// The room component's part for the Notes and whiteboard panel (spread into room/index.js):
// the panel opens like the others, and its chunk (Yjs, the editor, the whiteboard: index.js
// here) is imported the first time it opens, so a room where nobody opens it never loads it.

import { t } from '../../i18n.js';

export function notesPart() {
  let mounting = null;

  return {
    notesState: 'closed', // closed | loading | ready | error

    toggleNotes() {
      this.togglePanel('notes');
      if (this.panel === 'notes') this.loadNotes();
    },

    loadNotes() {
      if (mounting) return mounting;
      this.notesState = 'loading';
      // By id: x-ignore keeps Alpine (and so x-ref) off the element.
      const mount = document.getElementById('room-notes-mount');
      const pageUrl = mount.dataset.pageUrl;
      mounting = import('./index.js')
        .then(({ mountNotes }) =>
          mountNotes(mount, {
            sessionId: this.config.sessionId,
            isMentor: Boolean(this.config.isMentor),
            notesUrl: mount.dataset.notesUrl,
            // The template gives page 1's address; the others differ only in the number.
            pageUrl: (page) => pageUrl.replace(/\/1\.png$/, `/${page}.png`),
          }),
        )
        .then((notes) => {
          this.notesState = notes ? 'ready' : 'error';
        })
        .catch(() => {
          this.notesState = 'error';
          mount.textContent = t('The notes could not load. Reload the page to try again.');
          mounting = null;
        });
      return mounting;
    },
  };
}
