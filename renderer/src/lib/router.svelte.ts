export const pages = [
  { id: 'library', title: 'Library', shortcut: '1' },
  { id: 'viewer', title: 'Viewer', shortcut: '2' },
  { id: 'review', title: 'Review', shortcut: '3' },
  { id: 'models', title: 'Models', shortcut: '4' },
  { id: 'settings', title: 'Settings', shortcut: '5' },
] as const;
export type PageId = (typeof pages)[number]['id'];

function fromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  return pages.find((p) => p.id === id)?.id ?? 'library';
}

/** Parameters after '?' in the hash, e.g. #/viewer?instance=12. */
function paramsOf(hash: string): Record<string, string> {
  const query = hash.split('?')[1] ?? '';
  return Object.fromEntries(new URLSearchParams(query));
}

export const route = $state({ page: fromHash(location.hash), params: paramsOf(location.hash) });

window.addEventListener('hashchange', () => {
  route.page = fromHash(location.hash);
  route.params = paramsOf(location.hash);
});

export function navigate(page: PageId): void {
  location.hash = `#/${page}`;
}
