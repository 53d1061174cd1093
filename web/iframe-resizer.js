// For a lesson page that holds embed.html in iframes: fits each frame to the height its widget
// reports ({ type: 'qkv-attention:height', height } posted to the parent), and asks the frames that
// reported before this ran to report again. Without it a frame keeps the height the page gave it.
//
//   import { fitFrames } from 'qkv-attention/iframe-resizer';
//   fitFrames();                          // every iframe of the page, heights kept within 80…4000 px
//
// Only the frame that posted a message is resized, and only with a number.

/**
 * Starts fitting iframes of `root` (default: the document) to their widget's height; returns a
 * function that stops it.
 */
export function fitFrames({ root = document, min = 80, max = 4000 } = {}) {
  const view = root.defaultView ?? window;
  const onMessage = (e) => {
    if (e.data?.type !== 'qkv-attention:height' || !Number.isFinite(e.data.height)) return;
    for (const frame of root.querySelectorAll('iframe')) {
      if (frame.contentWindow === e.source) frame.style.height = `${Math.min(Math.max(e.data.height, min), max)}px`;
    }
  };
  view.addEventListener('message', onMessage);
  for (const frame of root.querySelectorAll('iframe')) frame.contentWindow?.postMessage({ type: 'qkv-attention:measure' }, '*');
  return () => view.removeEventListener('message', onMessage);
}
