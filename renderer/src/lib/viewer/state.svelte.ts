// The image last opened in the viewer, so the Viewer tab returns to it after visiting other pages.
export const lastViewed = $state<{ instanceId: number | null }>({ instanceId: null });
