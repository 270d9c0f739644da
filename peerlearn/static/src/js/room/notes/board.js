// The whiteboard: pages of shapes drawn on a <canvas>, kept in the session's Yjs document.
//
// `pages` (a Y.Map) holds page id -> Y.Array of shapes, ordered by id: the first page ("0") is
// in every document from the server's start, new pages are named by the time they were made.
// A shape is a plain object {id, kind, points, colour, width, text} on a 1600 × 900 board
// (services/room_documents.py draws the same shapes as PNG): a pen keeps its whole stroke, the
// others two corners, text one point. Drawing adds a shape when the pointer lifts; the eraser
// deletes the shapes it touches. Undo and redo (Y.UndoManager) take back only this page's own
// changes, never someone else's.

import * as Y from 'yjs';
import { t } from '../../i18n.js';

export const BOARD_WIDTH = 1600;
export const BOARD_HEIGHT = 900;
export const TOOLS = [
  { id: 'pen', label: t('Pen') },
  { id: 'line', label: t('Line') },
  { id: 'rect', label: t('Rectangle') },
  { id: 'ellipse', label: t('Ellipse') },
  { id: 'arrow', label: t('Arrow') },
  { id: 'text', label: t('Text') },
  { id: 'eraser', label: t('Eraser') },
];
export const COLOURS = [
  { value: '#111827', label: t('Black') },
  { value: '#dc2626', label: t('Red') },
  { value: '#2563eb', label: t('Blue') },
  { value: '#16a34a', label: t('Green') },
  { value: '#ea580c', label: t('Orange') },
];
export const WIDTHS = [
  { value: 2, label: t('Thin') },
  { value: 4, label: t('Medium') },
  { value: 8, label: t('Thick') },
];
const ERASE_REACH = 12; // board units around the pointer that count as touching a shape
const MIN_STEP = 2; // a pen's points closer than this are dropped

function shapeId() {
  const random = new Uint32Array(2);
  crypto.getRandomValues(random);
  return `${random[0].toString(36)}${random[1].toString(36)}`;
}

export function newPageId() {
  // Sorts after "0" and after every earlier page; two browsers adding at once get two pages.
  const random = new Uint32Array(1);
  crypto.getRandomValues(random);
  return `${String(Date.now()).padStart(15, '0')}-${random[0].toString(36)}`;
}

function pairs(points) {
  const out = [];
  for (let i = 0; i + 1 < points.length; i += 2) out.push([points[i], points[i + 1]]);
  return out;
}

function distanceToSegment([px, py], [ax, ay], [bx, by]) {
  const dx = bx - ax;
  const dy = by - ay;
  const length = dx * dx + dy * dy;
  const along = length ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length)) : 0;
  return Math.hypot(px - (ax + along * dx), py - (ay + along * dy));
}

function touches(shape, point) {
  const corners = pairs(shape.points || []);
  if (!corners.length) return false;
  const reach = ERASE_REACH + (shape.width || 2) / 2;
  if (shape.kind === 'text') {
    const [x, y] = corners[0];
    const size = Math.max(12, (shape.width || 2) * 6);
    const width = (shape.text || '').length * size * 0.6;
    return point[0] >= x - reach && point[0] <= x + width + reach && point[1] >= y - reach && point[1] <= y + size + reach;
  }
  if (shape.kind === 'rect' || shape.kind === 'ellipse') {
    const [[x1, y1], [x2, y2]] = [corners[0], corners[corners.length - 1]];
    const left = Math.min(x1, x2);
    const right = Math.max(x1, x2);
    const top = Math.min(y1, y2);
    const bottom = Math.max(y1, y2);
    const edges = [[[left, top], [right, top]], [[right, top], [right, bottom]], [[right, bottom], [left, bottom]], [[left, bottom], [left, top]]];
    return edges.some(([a, b]) => distanceToSegment(point, a, b) <= reach);
  }
  if (corners.length === 1) return Math.hypot(point[0] - corners[0][0], point[1] - corners[0][1]) <= reach;
  const segments = shape.kind === 'pen' ? corners : [corners[0], corners[corners.length - 1]];
  for (let i = 1; i < segments.length; i += 1) {
    if (distanceToSegment(point, segments[i - 1], segments[i]) <= reach) return true;
  }
  return false;
}

export function drawShape(context, shape) {
  const corners = pairs(shape.points || []);
  if (!corners.length) return;
  const colour = /^#[0-9a-fA-F]{6}$/.test(shape.colour || '') ? shape.colour : '#000000';
  const width = Math.max(1, Math.min(64, Number(shape.width) || 3));
  context.strokeStyle = colour;
  context.fillStyle = colour;
  context.lineWidth = width;
  context.lineCap = 'round';
  context.lineJoin = 'round';
  const [first] = corners;
  const last = corners[corners.length - 1];
  switch (shape.kind) {
    case 'text': {
      if (!shape.text) return;
      context.font = `${Math.max(12, width * 6)}px sans-serif`;
      context.textBaseline = 'top';
      context.fillText(String(shape.text).slice(0, 500), first[0], first[1]);
      return;
    }
    case 'pen': {
      if (corners.length === 1) {
        context.beginPath();
        context.arc(first[0], first[1], width / 2, 0, Math.PI * 2);
        context.fill();
        return;
      }
      context.beginPath();
      context.moveTo(first[0], first[1]);
      for (const [x, y] of corners.slice(1)) context.lineTo(x, y);
      context.stroke();
      return;
    }
    case 'rect': {
      context.strokeRect(Math.min(first[0], last[0]), Math.min(first[1], last[1]), Math.abs(last[0] - first[0]), Math.abs(last[1] - first[1]));
      return;
    }
    case 'ellipse': {
      context.beginPath();
      context.ellipse((first[0] + last[0]) / 2, (first[1] + last[1]) / 2, Math.abs(last[0] - first[0]) / 2, Math.abs(last[1] - first[1]) / 2, 0, 0, Math.PI * 2);
      context.stroke();
      return;
    }
    case 'line':
    case 'arrow': {
      context.beginPath();
      context.moveTo(first[0], first[1]);
      context.lineTo(last[0], last[1]);
      context.stroke();
      if (shape.kind === 'arrow') {
        const angle = Math.atan2(last[1] - first[1], last[0] - first[0]);
        const size = 10 + width * 3;
        context.beginPath();
        context.moveTo(last[0], last[1]);
        context.lineTo(last[0] - size * Math.cos(angle - Math.PI / 7), last[1] - size * Math.sin(angle - Math.PI / 7));
        context.lineTo(last[0] - size * Math.cos(angle + Math.PI / 7), last[1] - size * Math.sin(angle + Math.PI / 7));
        context.closePath();
        context.fill();
      }
      return;
    }
    default:
  }
}

export class Whiteboard {
  constructor(doc, canvas, { onChange } = {}) {
    this.doc = doc;
    this.canvas = canvas;
    this.pages = doc.getMap('pages');
    this.onChange = onChange || (() => {});
    this.page = 0;
    this.tool = 'pen';
    this.colour = COLOURS[0].value;
    this.width = WIDTHS[1].value;
    this.text = '';
    this.editable = false;
    this.draft = null; // the shape being drawn, not yet in the document
    this.local = Symbol('whiteboard'); // origin of this page's own changes
    this.undo = new Y.UndoManager(this.pages, { trackedOrigins: new Set([this.local]), captureTimeout: 0 });
    this.observer = () => {
      this.draw();
      this.onChange();
    };
    this.pages.observeDeep(this.observer);
    this.undo.on('stack-item-added', () => this.onChange());
    this.undo.on('stack-item-popped', () => this.onChange());
    this.bindPointer();
    this.draw();
  }

  destroy() {
    this.pages.unobserveDeep(this.observer);
    this.undo.destroy();
    for (const [event, handler] of this.pointerHandlers) this.canvas.removeEventListener(event, handler);
  }

  get pageIds() {
    return [...this.pages.keys()].filter((key) => this.pages.get(key) instanceof Y.Array).sort();
  }

  get pageCount() {
    return this.pageIds.length;
  }

  get shapes() {
    const id = this.pageIds[Math.min(this.page, this.pageCount - 1)];
    return id === undefined ? null : this.pages.get(id);
  }

  showPage(index) {
    this.page = Math.max(0, Math.min(index, this.pageCount - 1));
    this.draft = null;
    this.draw();
    this.onChange();
  }

  addPage() {
    if (!this.editable) return;
    const id = newPageId();
    this.doc.transact(() => this.pages.set(id, new Y.Array()), this.local);
    this.showPage(this.pageIds.indexOf(id));
  }

  add(shape) {
    const shapes = this.shapes;
    if (!shapes || !this.editable) return;
    this.doc.transact(() => shapes.push([shape]), this.local);
  }

  eraseAt(point) {
    const shapes = this.shapes;
    if (!shapes || !this.editable) return;
    const items = shapes.toArray();
    for (let i = items.length - 1; i >= 0; i -= 1) {
      if (touches(items[i], point)) {
        this.doc.transact(() => shapes.delete(i, 1), this.local);
        return;
      }
    }
  }

  // Text placed by keyboard: in the middle of the board, a little lower each time.
  placeText(point = null) {
    const text = this.text.trim();
    if (!text) return false;
    const count = this.shapes ? this.shapes.length : 0;
    const at = point || [BOARD_WIDTH / 2 - 200, BOARD_HEIGHT / 2 - 40 + (count % 8) * 30];
    this.add({ id: shapeId(), kind: 'text', points: at.map(Math.round), colour: this.colour, width: this.width, text: text.slice(0, 500) });
    return true;
  }

  boardPoint(event) {
    const box = this.canvas.getBoundingClientRect();
    return [
      Math.round(((event.clientX - box.left) / box.width) * BOARD_WIDTH),
      Math.round(((event.clientY - box.top) / box.height) * BOARD_HEIGHT),
    ];
  }

  bindPointer() {
    const down = (event) => {
      if (!this.editable || event.button !== 0) return;
      event.preventDefault();
      this.canvas.setPointerCapture(event.pointerId);
      const point = this.boardPoint(event);
      if (this.tool === 'eraser') {
        this.erasing = true;
        this.eraseAt(point);
        return;
      }
      if (this.tool === 'text') {
        this.placeText(point);
        return;
      }
      this.draft = { id: shapeId(), kind: this.tool, points: [...point, ...point], colour: this.colour, width: this.width };
      if (this.tool === 'pen') this.draft.points = [...point];
      this.draw();
    };
    const move = (event) => {
      if (this.erasing) {
        this.eraseAt(this.boardPoint(event));
        return;
      }
      if (!this.draft) return;
      const point = this.boardPoint(event);
      const points = this.draft.points;
      if (this.draft.kind === 'pen') {
        const [x, y] = points.slice(-2);
        if (Math.hypot(point[0] - x, point[1] - y) >= MIN_STEP) points.push(...point);
      } else {
        points.splice(2, 2, ...point);
      }
      this.draw();
    };
    const up = () => {
      this.erasing = false;
      if (!this.draft) return;
      const shape = this.draft;
      this.draft = null;
      this.add(shape);
      this.draw();
    };
    this.pointerHandlers = [
      ['pointerdown', down],
      ['pointermove', move],
      ['pointerup', up],
      ['pointercancel', up],
    ];
    for (const [event, handler] of this.pointerHandlers) this.canvas.addEventListener(event, handler);
  }

  draw() {
    const context = this.canvas.getContext('2d');
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, this.canvas.width, this.canvas.height);
    context.setTransform(this.canvas.width / BOARD_WIDTH, 0, 0, this.canvas.height / BOARD_HEIGHT, 0, 0);
    const shapes = this.shapes;
    if (shapes) for (const shape of shapes.toArray()) drawShape(context, shape);
    if (this.draft) drawShape(context, this.draft);
  }
}
