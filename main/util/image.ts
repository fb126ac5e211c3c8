/** Single-channel image, row-major, float32. Producers state the value range (e.g. [0,1] or [-1,1]). */
export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array;
}

export function createGray(width: number, height: number, fill = 0): GrayImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`invalid image size ${width}x${height}`);
  }
  return { width, height, data: new Float32Array(width * height).fill(fill) };
}
