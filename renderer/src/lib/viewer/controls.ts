// The viewer's mouse tools and compare layouts as the toolbar shows them and the keyboard picks them.
import type { ToolId } from './cornerstone.ts';

export type Layout = 'original' | 'restored' | 'side' | 'swipe' | 'flicker';

export const toolButtons: { id: ToolId; label: string; key: string }[] = [
  { id: 'windowLevel', label: 'Window/level', key: 'W' },
  { id: 'pan', label: 'Pan', key: 'P' },
  { id: 'zoom', label: 'Zoom', key: 'Z' },
  { id: 'rotate', label: 'Rotate', key: 'T' },
  { id: 'length', label: 'Length', key: 'M' },
  { id: 'angle', label: 'Angle', key: 'G' },
  { id: 'probe', label: 'Probe', key: 'O' },
];

export const layouts: { id: Layout; label: string; key: string }[] = [
  { id: 'original', label: 'Original', key: 'Q' },
  { id: 'restored', label: 'Restored', key: 'E' },
  { id: 'side', label: 'Side by side', key: 'C' },
  { id: 'swipe', label: 'Swipe', key: 'S' },
  { id: 'flicker', label: 'Flicker', key: 'F' },
];

export const TOOL_KEYS: Record<string, ToolId> = {
  w: 'windowLevel',
  p: 'pan',
  z: 'zoom',
  m: 'length',
  g: 'angle',
  o: 'probe',
  t: 'rotate',
};

export const LAYOUT_KEYS: Record<string, Layout> = {
  q: 'original',
  e: 'restored',
  c: 'side',
  s: 'swipe',
  f: 'flicker',
};
