// What a lesson page may add for embed.html iframes: fit each frame to the height its widget reports.
// Optional; without it the iframe keeps the height the page gave it. Frames that reported before this
// script ran are asked again.
window.addEventListener('message', (e) => {
  if (e.data?.type !== 'qkv-attention:height' || !Number.isFinite(e.data.height)) return;
  for (const frame of document.querySelectorAll('iframe')) {
    if (frame.contentWindow === e.source) frame.style.height = `${Math.min(Math.max(e.data.height, 80), 4000)}px`;
  }
});
for (const frame of document.querySelectorAll('iframe')) frame.contentWindow?.postMessage({ type: 'qkv-attention:measure' }, '*');
