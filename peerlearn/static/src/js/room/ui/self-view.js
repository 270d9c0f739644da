// The self-view: your own camera in a small overlay that you drag to any corner of the stage.
// It snaps to the corner nearest to where it is dropped; the corner is kept for next time.

export const CORNERS = ['top-left', 'top-right', 'bottom-right', 'bottom-left'];
const KEY = 'peerlearn.room.selfCorner';
const DEFAULT = 'bottom-right';
// Below this many pixels a press is a click, not a drag.
const THRESHOLD = 6;

export function savedCorner() {
  try {
    const corner = window.localStorage.getItem(KEY);
    return CORNERS.includes(corner) ? corner : DEFAULT;
  } catch {
    return DEFAULT;
  }
}

export function saveCorner(corner) {
  try {
    window.localStorage.setItem(KEY, corner);
  } catch {
    // Private browsing without storage: the corner lasts as long as the page.
  }
}

export function nextCorner(corner) {
  return CORNERS[(CORNERS.indexOf(corner) + 1) % CORNERS.length];
}

function nearestCorner(rect, bounds) {
  const vertical = rect.top + rect.height / 2 < bounds.top + bounds.height / 2 ? 'top' : 'bottom';
  const horizontal = rect.left + rect.width / 2 < bounds.left + bounds.width / 2 ? 'left' : 'right';
  return `${vertical}-${horizontal}`;
}

const clamp = (value, low, high) => Math.min(Math.max(value, low), Math.max(low, high));

// Follows one pointer from `event` (a pointerdown on `element`) until it is released; a real
// drag ends in onDrop(corner, droppedRect). The element stays inside `area`.
export function drag(event, element, area, onDrop) {
  const start = { x: event.clientX, y: event.clientY };
  const rect = element.getBoundingClientRect();
  const bounds = area.getBoundingClientRect();
  const { pointerId } = event;
  let moved = false;
  element.setPointerCapture(pointerId);

  const move = (e) => {
    if (e.pointerId !== pointerId) return;
    const dx = e.clientX - start.x;
    const dy = e.clientY - start.y;
    if (!moved && Math.hypot(dx, dy) < THRESHOLD) return;
    moved = true;
    element.classList.add('is-dragging');
    const x = clamp(dx, bounds.left - rect.left, bounds.right - rect.right);
    const y = clamp(dy, bounds.top - rect.top, bounds.bottom - rect.bottom);
    element.style.transform = `translate(${x}px, ${y}px)`;
  };
  const end = (e) => {
    if (e.pointerId !== pointerId) return;
    element.removeEventListener('pointermove', move);
    element.removeEventListener('pointerup', end);
    element.removeEventListener('pointercancel', end);
    if (element.hasPointerCapture(pointerId)) element.releasePointerCapture(pointerId);
    element.classList.remove('is-dragging');
    if (!moved) return;
    const dropped = element.getBoundingClientRect();
    onDrop(nearestCorner(dropped, bounds), dropped);
  };
  element.addEventListener('pointermove', move);
  element.addEventListener('pointerup', end);
  element.addEventListener('pointercancel', end);
}

// Once the new corner is applied: glide from where it was dropped into the corner.
export function settle(element, from) {
  element.style.transform = '';
  if (!from || window.matchMedia('(prefers-reduced-motion: reduce)').matches) return;
  const to = element.getBoundingClientRect();
  element.style.transition = 'none';
  element.style.transform = `translate(${from.left - to.left}px, ${from.top - to.top}px)`;
  element.getBoundingClientRect();
  element.style.transition = 'transform 180ms ease-out';
  element.style.transform = '';
  element.addEventListener('transitionend', () => element.style.removeProperty('transition'), { once: true });
}
