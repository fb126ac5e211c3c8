export const pages = [
  { id: 'library', title: 'Library', shortcut: '1' },
  { id: 'viewer', title: 'Viewer', shortcut: '2' },
  { id: 'review', title: 'Review', shortcut: '3' },
  { id: 'models', title: 'Models', shortcut: '4' },
] as const;
export type PageId = (typeof pages)[number]['id'];

function fromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, '').split('/')[0];
  return pages.find((p) => p.id === id)?.id ?? 'library';
}

export const route = $state({ page: fromHash(location.hash) });

window.addEventListener('hashchange', () => {
  route.page = fromHash(location.hash);
});

export function navigate(page: PageId): void {
  location.hash = `#/${page}`;
}
