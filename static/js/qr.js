// QR codes as SVG, built with DOM calls. The encoder is qrcode-generator (MIT, vendored in
// /vendor/qrcode-generator/ and loaded by index.html as a classic script: the global `qrcode`).

const NS = 'http://www.w3.org/2000/svg';
/** Light modules around the code, as the QR standard asks. */
const QUIET = 4;

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = String(text);
  return el;
}

/**
 * An <svg> showing `text` as a QR code (error correction M, UTF-8), labelled `label` for
 * assistive technology; null when the encoder did not load or the text does not fit.
 */
export function qrSvg(text, label) {
  const factory = globalThis.qrcode;
  if (typeof factory !== 'function') return null;
  let qr;
  try {
    factory.stringToBytes = factory.stringToBytesFuncs['UTF-8'];
    qr = factory(0, 'M');
    qr.addData(String(text));
    qr.make();
  } catch {
    return null;
  }
  const n = qr.getModuleCount();
  const size = n + 2 * QUIET;
  // One path of horizontal runs of dark modules.
  const runs = [];
  for (let row = 0; row < n; row += 1) {
    let col = 0;
    while (col < n) {
      if (!qr.isDark(row, col)) {
        col += 1;
        continue;
      }
      const start = col;
      while (col < n && qr.isDark(row, col)) col += 1;
      runs.push(`M${start + QUIET} ${row + QUIET}h${col - start}v1h-${col - start}z`);
    }
  }
  const svg = s('svg', {
    class: 'qr',
    viewBox: `0 0 ${size} ${size}`,
    role: 'img',
    'aria-label': label,
    'shape-rendering': 'crispEdges',
    'data-modules': n,
  });
  svg.append(s('title', {}, label), s('rect', { width: size, height: size, fill: '#fff' }), s('path', { d: runs.join(''), fill: '#000' }));
  return svg;
}
