// What the stage shows: a page of the grid, or one main tile over a filmstrip. Only tiles on
// screen are rendered: the engine receives video for the <video> elements it was given that
// are in the page and visible, at the quality their size needs.

export const GRID_PAGE = { wide: 9, narrow: 4 };

// Every remote tile: screens first, then cameras with the mentor leading. In a stage room only
// people on stage have a camera tile; the audience is listed in People.
export function roomTiles(participants, stage) {
  const screens = participants
    .filter((p) => p.screenLive)
    .map((p) => ({ key: `screen:${p.user_id}`, kind: 'screen', p }));
  const cameras = participants
    .filter((p) => !stage || p.on_stage)
    .map((p) => ({ key: `camera:${p.user_id}`, kind: 'camera', p }))
    .sort((a, b) => Number(b.p.role === 'mentor') - Number(a.p.role === 'mentor'));
  return [...screens, ...cameras];
}

// Columns and rows for `count` tiles: wide screens fill rows first, phones stack.
export function gridShape(count, narrow) {
  if (count <= 1) return { cols: 1, rows: 1 };
  if (narrow) return count === 2 ? { cols: 1, rows: 2 } : { cols: 2, rows: Math.ceil(count / 2) };
  if (count === 2) return { cols: 2, rows: 1 };
  if (count <= 4) return { cols: 2, rows: 2 };
  if (count <= 6) return { cols: 3, rows: 2 };
  return { cols: 3, rows: 3 };
}

export function paged(list, index, size) {
  const pages = Math.max(1, Math.ceil(list.length / size));
  const at = Math.min(Math.max(0, index), pages - 1);
  return { items: list.slice(at * size, (at + 1) * size), index: at, pages };
}

// The main tile of the speaker layout: what the viewer pinned, else the newest live screen
// share, else whoever speaks (or spoke last), else the mentor.
export function mainTile(tiles, { pinned, screen, speaker }) {
  const find = (key) => (key ? tiles.find((tile) => tile.key === key) : undefined);
  return (
    find(pinned) ||
    find(screen) ||
    tiles.find((tile) => tile.kind === 'screen') ||
    find(speaker === null || speaker === undefined ? null : `camera:${speaker}`) ||
    tiles.find((tile) => tile.kind === 'camera' && tile.p.role === 'mentor') ||
    tiles[0] ||
    null
  );
}
