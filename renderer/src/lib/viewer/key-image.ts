// A key image as the reader sees it: the viewport's pixels, its measurements (Cornerstone's SVG
// layer) and the overlay text, as PNG or JPEG. Without PHI, every overlay line marked as patient or
// study identifying (class "phi") is left out, and nothing else about the patient is in the file (a
// PNG/JPEG carries only pixels). The browser's own canvas encoders are used.

const FONT = '13px "R2C CJK", system-ui, "DejaVu Sans", sans-serif';

function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('the measurement layer could not be drawn'));
    image.src = url;
  });
}

/** The overlay's corners as lines of text, PHI lines dropped unless `includePhi`. */
function overlayLines(overlay: HTMLElement, includePhi: boolean) {
  const corner = (name: string) =>
    [...overlay.querySelectorAll<HTMLElement>(`.corner.${name} > div`)]
      .filter((line) => includePhi || !line.classList.contains('phi'))
      .map((line) => (line.textContent ?? '').replace(/\s+/g, ' ').trim())
      .filter((text) => text.length > 0 && !/hidden/.test(text));
  return {
    topLeft: corner('top-left'),
    topRight: corner('top-right'),
    bottomLeft: corner('bottom-left'),
    bottomRight: corner('bottom-right'),
    markers: [...overlay.querySelectorAll<HTMLElement>('.marker')].map((m) => ({
      edge: [...m.classList].find((c) => c !== 'marker') ?? '',
      text: m.textContent ?? '',
    })),
  };
}

export async function keyImage(
  viewportElement: HTMLElement,
  overlay: HTMLElement | null,
  format: 'png' | 'jpeg',
  includePhi: boolean,
): Promise<Blob> {
  const source = viewportElement.querySelector('canvas');
  if (!source) throw new Error('no image is shown');
  const canvas = document.createElement('canvas');
  canvas.width = source.width;
  canvas.height = source.height;
  const context = canvas.getContext('2d')!;
  context.fillStyle = '#000';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(source, 0, 0);
  const svg = viewportElement.querySelector('svg');
  if (svg) {
    // Cornerstone draws in CSS pixels of the element: the copy gets that size explicitly.
    const copy = svg.cloneNode(true) as SVGSVGElement;
    copy.setAttribute('width', String(viewportElement.clientWidth));
    copy.setAttribute('height', String(viewportElement.clientHeight));
    copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
    const text = new XMLSerializer().serializeToString(copy);
    const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
    try {
      context.drawImage(await loadImage(url), 0, 0, canvas.width, canvas.height);
    } finally {
      URL.revokeObjectURL(url);
    }
  }
  if (overlay) {
    const scale = canvas.width / Math.max(1, viewportElement.clientWidth);
    context.save();
    context.scale(scale, scale);
    const width = canvas.width / scale;
    const height = canvas.height / scale;
    context.font = FONT;
    context.fillStyle = '#e8ecf2';
    context.shadowColor = '#000';
    context.shadowBlur = 3;
    const lines = overlayLines(overlay, includePhi);
    const block = (list: string[], x: number, y: number, align: CanvasTextAlign, up: boolean) => {
      context.textAlign = align;
      list.forEach((line, i) => {
        const row = up ? list.length - 1 - i : i;
        context.fillText(line, x, up ? y - row * 17 : y + row * 17);
      });
    };
    context.textBaseline = 'top';
    block(lines.topLeft, 8, 8, 'left', false);
    block(lines.topRight, width - 8, 8, 'right', false);
    context.textBaseline = 'bottom';
    block(lines.bottomLeft, 8, height - 8, 'left', true);
    block(lines.bottomRight, width - 8, height - 8, 'right', true);
    context.fillStyle = '#ffd479';
    for (const { edge, text } of lines.markers) {
      const at = {
        top: [width / 2, 14],
        bottom: [width / 2, height - 14],
        left: [14, height / 2],
        right: [width - 14, height / 2],
      }[edge];
      if (!at) continue;
      context.textAlign = 'center';
      context.textBaseline = 'middle';
      context.fillText(text, at[0]!, at[1]!);
    }
    context.restore();
  }
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('the image could not be encoded'))),
      format === 'png' ? 'image/png' : 'image/jpeg',
      0.92,
    ),
  );
}

/** Saves bytes through the browser's download (Electron asks where to save). */
export function download(data: Blob | Uint8Array, fileName: string, type: string): void {
  const blob = data instanceof Blob ? data : new Blob([data as Uint8Array<ArrayBuffer>], { type });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
