// The room's keyboard shortcuts: single keys, ignored while typing or with a modifier held.

import { t } from '../../i18n.js';

export const SHORTCUTS = [
  { key: 'm', label: 'M', action: 'toggleMic', help: t('Microphone on or off') },
  { key: 'v', label: 'V', action: 'toggleCam', help: t('Camera on or off') },
  { key: 's', label: 'S', action: 'toggleScreen', help: t('Share your screen, or stop') },
  { key: 'h', label: 'H', action: 'toggleHand', help: t('Raise or lower your hand') },
  { key: 'c', label: 'C', action: 'toggleChat', help: t('Open or close the chat') },
  { key: 'p', label: 'P', action: 'togglePeople', help: t('Open or close the people list') },
  { key: 'g', label: 'G', action: 'toggleGifts', help: t('Open or close gifts') },
  { key: 'l', label: 'L', action: 'toggleLayout', help: t('Switch between grid and speaker layout') },
  { key: '?', label: '?', action: 'openHelp', help: t('Show these shortcuts') },
];

export const ESCAPE_HELP = { label: 'Esc', help: t('Close the open panel or menu') };

const TEXT_INPUTS = new Set(['text', 'search', 'email', 'number', 'password', 'tel', 'url', 'date', 'time']);

// Typing in a field: its letters are text, not shortcuts.
export function isTyping(target) {
  if (!target || !target.tagName) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName.toLowerCase();
  if (tag === 'textarea' || tag === 'select') return true;
  return tag === 'input' && TEXT_INPUTS.has((target.type || 'text').toLowerCase());
}

export function shortcutFor(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return null;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  return SHORTCUTS.find((shortcut) => shortcut.key === key) || null;
}
