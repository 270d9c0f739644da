// The room's Notes and whiteboard panel: a chunk of its own (Yjs, tiptap and ProseMirror), loaded
// the first time the panel opens. The room component (room/index.js) calls `mountNotes` with the
// panel's element; everything inside it is drawn here, outside Alpine (x-ignore).
//
// Notes are rich text (tiptap: headings, lists, code blocks, quotes, bold, italic, code) in the
// document's `notes` fragment; the whiteboard is board.js. Both live in one Yjs document that
// sync.js keeps in step with the server: edits go on while the socket is away and are sent when
// it comes back; a reload or a late join gets the whole document from the server.

import { Editor } from '@tiptap/core';
import Collaboration from '@tiptap/extension-collaboration';
import StarterKit from '@tiptap/starter-kit';
import * as Y from 'yjs';
import { t, tn } from '../../i18n.js';
import { socketReady } from '../../realtime.js';
import { BOARD_HEIGHT, BOARD_WIDTH, COLOURS, TOOLS, WIDTHS, Whiteboard } from './board.js';
import { DocSync } from './sync.js';

const NOTE_BUTTONS = [
  { label: t('Bold'), run: (c) => c.toggleBold(), active: (e) => e.isActive('bold') },
  { label: t('Italic'), run: (c) => c.toggleItalic(), active: (e) => e.isActive('italic') },
  { label: t('Code'), run: (c) => c.toggleCode(), active: (e) => e.isActive('code') },
  { label: t('Heading'), run: (c) => c.toggleHeading({ level: 2 }), active: (e) => e.isActive('heading', { level: 2 }) },
  { label: t('Subheading'), run: (c) => c.toggleHeading({ level: 3 }), active: (e) => e.isActive('heading', { level: 3 }) },
  { label: t('Bulleted list'), run: (c) => c.toggleBulletList(), active: (e) => e.isActive('bulletList') },
  { label: t('Numbered list'), run: (c) => c.toggleOrderedList(), active: (e) => e.isActive('orderedList') },
  { label: t('Code block'), run: (c) => c.toggleCodeBlock(), active: (e) => e.isActive('codeBlock') },
  { label: t('Quote'), run: (c) => c.toggleBlockquote(), active: (e) => e.isActive('blockquote') },
  { label: t('Undo'), run: (c) => c.undo(), active: null },
  { label: t('Redo'), run: (c) => c.redo(), active: null },
];

const BUTTON = 'rounded-md border border-gray-600 px-2 py-1 text-xs font-medium text-gray-100 hover:bg-gray-700 focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-primary-300 aria-pressed:bg-primary-600 aria-pressed:border-primary-400 disabled:opacity-50 aria-selected:bg-primary-600';
// ProseMirror's content, styled here: Tailwind's reset takes list markers and heading sizes away.
const PROSE = 'min-h-48 rounded-md bg-white p-3 text-sm text-gray-900 focus-within:outline-2 focus-within:outline-primary-300 [&_.ProseMirror]:min-h-44 [&_.ProseMirror]:outline-none [&_h2]:text-lg [&_h2]:font-semibold [&_h3]:font-semibold [&_ul]:list-disc [&_ul]:pl-6 [&_ol]:list-decimal [&_ol]:pl-6 [&_pre]:rounded [&_pre]:bg-gray-100 [&_pre]:p-2 [&_pre]:font-mono [&_code]:font-mono [&_blockquote]:border-l-4 [&_blockquote]:border-gray-300 [&_blockquote]:pl-3 [&_p]:my-1';

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children) node.append(child);
  return node;
}

function button(label, attributes = {}) {
  return element('button', { type: 'button', class: BUTTON, text: label, ...attributes });
}

// Arrow keys move along a toolbar, as in any toolbar; Tab leaves it.
function roving(toolbar) {
  toolbar.addEventListener('keydown', (event) => {
    const keys = ['ArrowLeft', 'ArrowRight', 'Home', 'End'];
    if (!keys.includes(event.key)) return;
    const items = [...toolbar.querySelectorAll('button, select, input')].filter((item) => !item.disabled && item.offsetParent);
    const at = items.indexOf(document.activeElement);
    if (at === -1) return;
    const next = { ArrowLeft: items[(at - 1 + items.length) % items.length], ArrowRight: items[(at + 1) % items.length], Home: items[0], End: items[items.length - 1] }[event.key];
    if (event.target.tagName === 'INPUT' && (event.key === 'ArrowLeft' || event.key === 'ArrowRight')) return;
    event.preventDefault();
    if (next) next.focus();
  });
}

export async function mountNotes(root, config) {
  const socket = await socketReady();
  if (!socket) {
    root.textContent = t('Your sign-in has lapsed. Log in again to see the notes.');
    return null;
  }
  const doc = new Y.Doc();
  root.replaceChildren();

  // ----- the frame: tabs, status, the mentor's toggle ------------------------------------
  const notesTab = button(t('Notes'), { role: 'tab', id: 'room-notes-tab', 'aria-controls': 'room-notes-pane', 'aria-selected': 'true' });
  const boardTab = button(t('Whiteboard'), { role: 'tab', id: 'room-board-tab', 'aria-controls': 'room-board-pane', 'aria-selected': 'false', tabindex: '-1' });
  const tabs = element('div', { role: 'tablist', 'aria-label': t('Notes or whiteboard'), class: 'flex gap-2' }, [notesTab, boardTab]);
  const status = element('p', { role: 'status', class: 'text-xs text-gray-300', 'data-testid': 'notes-status', text: t('Loading…') });
  const frame = [tabs, status];
  let toggle = null;
  if (config.isMentor) {
    toggle = element('input', { type: 'checkbox', id: 'room-notes-learners', class: 'size-4 rounded' });
    frame.push(
      element('label', { class: 'flex items-center gap-2 text-xs text-gray-200', for: 'room-notes-learners' }, [
        toggle,
        document.createTextNode(t('Let learners edit notes and whiteboard')),
      ]),
    );
  }

  // ----- notes --------------------------------------------------------------------------
  const noteBar = element('div', { role: 'toolbar', 'aria-label': t('Text formatting'), class: 'flex flex-wrap gap-1' });
  const noteButtons = NOTE_BUTTONS.map((spec) => {
    const control = button(spec.label, spec.active ? { 'aria-pressed': 'false' } : {});
    noteBar.append(control);
    return [spec, control];
  });
  roving(noteBar);
  const editorHost = element('div', { class: PROSE, 'data-testid': 'notes-editor' });
  const notesPane = element('div', { role: 'tabpanel', id: 'room-notes-pane', 'aria-labelledby': 'room-notes-tab', class: 'flex flex-col gap-2' }, [
    noteBar,
    editorHost,
    element('a', { href: config.notesUrl, class: 'text-xs text-primary-200 underline', text: t('Download the notes (Markdown)') }),
  ]);

  const editor = new Editor({
    element: editorHost,
    editable: false,
    extensions: [StarterKit.configure({ undoRedo: false, link: false, underline: false }), Collaboration.configure({ document: doc, field: 'notes' })],
    editorProps: { attributes: { 'aria-label': t('Shared notes'), 'aria-multiline': 'true', role: 'textbox' } },
  });
  for (const [spec, control] of noteButtons) {
    control.addEventListener('click', () => spec.run(editor.chain().focus()).run());
  }
  const refreshNoteButtons = () => {
    for (const [spec, control] of noteButtons) {
      control.disabled = !editor.isEditable;
      if (spec.active) control.setAttribute('aria-pressed', String(Boolean(spec.active(editor))));
    }
  };
  editor.on('transaction', refreshNoteButtons);

  // ----- whiteboard ---------------------------------------------------------------------
  const boardBar = element('div', { role: 'toolbar', 'aria-label': t('Whiteboard tools'), class: 'flex flex-wrap items-center gap-1' });
  const toolButtons = TOOLS.map((tool) => {
    const control = button(tool.label, { 'aria-pressed': tool.id === 'pen' ? 'true' : 'false', 'data-tool': tool.id });
    boardBar.append(control);
    return [tool, control];
  });
  const colourSelect = element('select', { 'aria-label': t('Colour'), class: 'rounded-md border border-gray-600 bg-gray-800 px-1 py-1 text-xs text-gray-100' });
  for (const colour of COLOURS) colourSelect.append(element('option', { value: colour.value, text: colour.label }));
  const widthSelect = element('select', { 'aria-label': t('Line width'), class: 'rounded-md border border-gray-600 bg-gray-800 px-1 py-1 text-xs text-gray-100' });
  for (const width of WIDTHS) widthSelect.append(element('option', { value: String(width.value), text: width.label }));
  widthSelect.value = String(WIDTHS[1].value);
  const textInput = element('input', { type: 'text', maxlength: '500', 'aria-label': t('Text to place'), placeholder: t('Text, then click the board'), class: 'w-40 rounded-md border border-gray-600 bg-gray-800 px-2 py-1 text-xs text-gray-100', hidden: true });
  const placeButton = button(t('Place text'), { hidden: true });
  const undoButton = button(t('Undo'));
  const redoButton = button(t('Redo'));
  boardBar.append(colourSelect, widthSelect, textInput, placeButton, undoButton, redoButton);
  roving(boardBar);
  const previous = button(t('Previous page'), { 'aria-label': t('Previous page') });
  const next = button(t('Next page'), { 'aria-label': t('Next page') });
  const addPage = button(t('Add page'));
  const pageLabel = element('span', { class: 'text-xs text-gray-200', 'data-testid': 'board-page' });
  const pageBar = element('div', { role: 'toolbar', 'aria-label': t('Whiteboard pages'), class: 'flex flex-wrap items-center gap-1' }, [previous, pageLabel, next, addPage]);
  roving(pageBar);
  const canvas = element('canvas', { width: String(BOARD_WIDTH), height: String(BOARD_HEIGHT), class: 'w-full touch-none rounded-md bg-white', 'data-testid': 'whiteboard', role: 'img' });
  const download = element('a', { class: 'text-xs text-primary-200 underline', text: t('Download this page (PNG)') });
  const boardPane = element('div', { role: 'tabpanel', id: 'room-board-pane', 'aria-labelledby': 'room-board-tab', class: 'flex flex-col gap-2', hidden: true }, [
    boardBar,
    pageBar,
    canvas,
    download,
  ]);
  root.append(element('div', { class: 'flex flex-col gap-3' }, [...frame, notesPane, boardPane]));

  let board = null;
  const refreshBoard = () => {
    if (!board) return;
    const count = board.pageCount;
    const where = { page: board.page + 1, pages: count, shapes: board.shapes ? board.shapes.length : 0 };
    pageLabel.textContent = t('Page %(page)s of %(pages)s', where);
    const boardLabel = tn(
      'Whiteboard, page %(page)s of %(pages)s, %(shapes)s shape',
      'Whiteboard, page %(page)s of %(pages)s, %(shapes)s shapes',
      where.shapes,
      where,
    );
    canvas.setAttribute('aria-label', boardLabel);
    previous.disabled = board.page === 0;
    next.disabled = board.page >= count - 1;
    addPage.disabled = !board.editable;
    undoButton.disabled = !board.editable || !board.undo.canUndo();
    redoButton.disabled = !board.editable || !board.undo.canRedo();
    for (const [, control] of toolButtons) control.disabled = !board.editable;
    textInput.hidden = board.tool !== 'text';
    placeButton.hidden = board.tool !== 'text';
    placeButton.disabled = !board.editable;
    download.href = config.pageUrl(board.page + 1);
  };
  board = new Whiteboard(doc, canvas, { onChange: refreshBoard });
  for (const [tool, control] of toolButtons) {
    control.addEventListener('click', () => {
      board.tool = tool.id;
      for (const [other, otherControl] of toolButtons) otherControl.setAttribute('aria-pressed', String(other.id === tool.id));
      refreshBoard();
      if (tool.id === 'text') textInput.focus();
    });
  }
  colourSelect.addEventListener('change', () => {
    board.colour = colourSelect.value;
  });
  widthSelect.addEventListener('change', () => {
    board.width = Number(widthSelect.value);
  });
  textInput.addEventListener('input', () => {
    board.text = textInput.value;
  });
  const place = () => {
    if (board.placeText()) textInput.value = '';
    board.text = textInput.value;
  };
  placeButton.addEventListener('click', place);
  textInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      place();
    }
  });
  undoButton.addEventListener('click', () => board.undo.undo());
  redoButton.addEventListener('click', () => board.undo.redo());
  previous.addEventListener('click', () => board.showPage(board.page - 1));
  next.addEventListener('click', () => board.showPage(board.page + 1));
  addPage.addEventListener('click', () => board.addPage());

  const showTab = (which) => {
    const onNotes = which === 'notes';
    notesTab.setAttribute('aria-selected', String(onNotes));
    boardTab.setAttribute('aria-selected', String(!onNotes));
    notesTab.tabIndex = onNotes ? 0 : -1;
    boardTab.tabIndex = onNotes ? -1 : 0;
    notesPane.hidden = !onNotes;
    boardPane.hidden = onNotes;
    refreshBoard();
  };
  notesTab.addEventListener('click', () => showTab('notes'));
  boardTab.addEventListener('click', () => showTab('board'));
  tabs.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    event.preventDefault();
    const toBoard = notesTab.getAttribute('aria-selected') === 'true';
    showTab(toBoard ? 'board' : 'notes');
    (toBoard ? boardTab : notesTab).focus();
  });

  // ----- sync and who may edit ----------------------------------------------------------
  const sync = new DocSync(socket, config.sessionId, doc, {
    onState: (state) => {
      const editable = state.synced && state.canEdit;
      if (editor.isEditable !== editable && (state.synced || !state.canEdit)) editor.setEditable(editable);
      board.editable = state.canEdit && (state.synced || board.editable);
      if (toggle) toggle.checked = state.learnersMayEdit;
      const words = {
        offline: state.synced ? '' : t('Offline: your changes are kept here and sent when the connection is back.'),
        saving: t('Saving…'),
        saved: t('All changes saved.'),
      };
      let text = state.error || words[state.status] || '';
      if (!state.canEdit && state.synced) text = t('Read only: the mentor hasn’t let learners edit.');
      status.textContent = text;
      status.dataset.state = state.synced ? state.status : 'offline';
      refreshNoteButtons();
      refreshBoard();
    },
  });
  if (toggle) {
    toggle.addEventListener('change', async () => {
      const reply = await sync.request('doc:access', { learners_may_edit: toggle.checked });
      if (!reply.ok) toggle.checked = !toggle.checked;
    });
  }
  // While offline the page keeps editing: the editor stays editable once it was.
  socket.on('disconnect', () => {
    board.editable = sync.canEdit;
    refreshBoard();
  });
  await sync.start();
  refreshBoard();

  const api = {
    doc,
    board,
    editor,
    sync,
    snapshot: () => ({ notes: doc.getXmlFragment('notes').toString(), pages: doc.getMap('pages').toJSON() }),
    destroy() {
      sync.stop();
      board.destroy();
      editor.destroy();
      doc.destroy();
    },
  };
  window.peerlearn = window.peerlearn || {};
  window.peerlearn.roomNotes = api;
  return api;
}
