// A decoded frame's types, shared by the decoder and the pixel pipeline (kept apart so neither imports the other's types).
export type StoredArray = Uint8Array | Int8Array | Uint16Array | Int16Array;

export interface DecodedFrame {
  frameIndex: number;
  width: number;
  height: number;
  samplesPerPixel: 1 | 3;
  /**
   * MONOCHROME1, MONOCHROME2 or RGB: colour frames are always delivered as interleaved RGB
   * (YBR_* converted), which is what a viewer shows.
   */
  photometricInterpretation: 'MONOCHROME1' | 'MONOCHROME2' | 'RGB';
  /** Photometric Interpretation as stored in the file (e.g. YBR_FULL_422). */
  sourcePhotometricInterpretation: string;
  bitsStored: number;
  signed: boolean;
  /**
   * Stored pixel values: masked to Bits Stored and sign-extended when Pixel Representation is 1;
   * interleaved (RGBRGB…) for colour.
   */
  stored: StoredArray;
  /** Modality values (Modality LUT Sequence, else Rescale Slope/Intercept) — monochrome only. */
  modality?: Float64Array;
}
