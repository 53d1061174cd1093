// Types for `qkv-attention/iframe-resizer`.

export interface FitFramesOptions {
  /** Where the iframes are (default: the document). */
  root?: Document;
  /** The smallest height given to a frame, in CSS pixels (default 80). */
  min?: number;
  /** The largest height given to a frame, in CSS pixels (default 4000). */
  max?: number;
}

/**
 * Fits the iframes that hold the package's embed.html to the height their widget reports. Returns a
 * function that stops it.
 */
export function fitFrames(options?: FitFramesOptions): () => void;
