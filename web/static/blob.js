// blob.js: a ciphertext blob's structure, as Simulator.InspectCiphertext
// returns it, made ready for the CiphertextMap markup (site/keys.templ):
// layer boxes and byte ranges, each range colored by the layer it belongs
// to. Shared by the console's Try it tab and the ciphertext blob docs page.

function byteLength(b64) {
  try {
    return b64 ? atob(b64).length : 0;
  } catch {
    return 0;
  }
}

// Each byte range is colored by the layer it belongs to: the cleartext
// header (version, origin, key ID) in grey, the outermost layer in blue and
// the layer inside it in purple, as the layer boxes are.
const HEADER = new Set(["version", "origin", "key id"]);
const LAYER_COLORS = ["0", "4"];

function layerOf(name, layers) {
  if (HEADER.has(name.toLowerCase())) return -1;
  if (layers.length > 1 && !/outer|proxy|ciphertextmetadata/i.test(name)) return 1;
  return 0;
}

export function blobView(b) {
  const raw = b.Layers || [];
  const layers = raw.map((l, i) => {
    const parts = [];
    if (l.Iv) parts.push(`IV ${byteLength(l.Iv)} bytes`);
    if (l.CiphertextMetadata) parts.push(`ciphertext metadata ${byteLength(l.CiphertextMetadata)} bytes`);
    if (l.Ciphertext) parts.push(`ciphertext ${byteLength(l.Ciphertext)} bytes`);
    if (l.AuthenticationTag) parts.push(`authentication tag ${byteLength(l.AuthenticationTag)} bytes`);
    return { ...l, Depth: String(i), Color: LAYER_COLORS[i] || "7", Sealed: Boolean(l.Sealed), Parts: parts.join(", ") };
  });
  const fields = (b.Fields || []).map((f) => {
    const n = layerOf(f.Name, raw);
    const layer = n < 0 ? "Header (cleartext)" : (raw[n] && raw[n].Name) || "";
    const hex = (f.Hex || "").replace(/(..)(?!$)/g, "$1 ");
    const end = f.Offset + f.Length - 1;
    const title = `${f.Name}: bytes ${f.Offset}–${end} (${f.Length} byte${f.Length === 1 ? "" : "s"}), ${layer}`;
    return { ...f, Layer: layer, Color: n < 0 ? "7" : LAYER_COLORS[n] || "7", HexShort: hex.length > 71 ? `${hex.slice(0, 71)} …` : hex, Title: title, Label: `${title}.` };
  });
  return { ...b, Layers: layers, Fields: fields };
}
