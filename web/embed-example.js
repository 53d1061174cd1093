// What a lesson page may add for embed.html iframes: fit each frame to the height its widget reports
// (the package's `qkv-attention/iframe-resizer`).
import { fitFrames } from './iframe-resizer.js';

fitFrames();
