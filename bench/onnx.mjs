// The attention graph the issue names — Transpose → MatMul → Mul → Softmax → MatMul (and an Add of a
// causal mask) — as ONNX model bytes, written with a few lines of protobuf encoding instead of a
// dependency. Field numbers are those of onnx/onnx.proto (IR version 8, opset 17).

const TEXT = new TextEncoder();

// Protobuf wire format: a message is a list of (field << 3 | wire type) keys, each with a varint or a
// length-delimited payload. Negative int64 values are ten-byte two's-complement varints.
function varint(value) {
  let v = BigInt.asUintN(64, BigInt(value));
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

class Message {
  constructor() { this.bytes = []; }
  int(field, value) { this.bytes.push(...varint((field << 3) | 0), ...varint(value)); return this; }
  float(field, value) {
    const b = new Uint8Array(new Float32Array([value]).buffer);
    this.bytes.push(...varint((field << 3) | 5), ...b);
    return this;
  }
  raw(field, payload) {
    const p = payload instanceof Uint8Array ? payload : Uint8Array.from(payload);
    this.bytes.push(...varint((field << 3) | 2), ...varint(p.length));
    for (let i = 0; i < p.length; ++i) this.bytes.push(p[i]);
    return this;
  }
  string(field, s) { return this.raw(field, TEXT.encode(s)); }
  message(field, m) { return this.raw(field, m.bytes); }
  encode() { return Uint8Array.from(this.bytes); }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2, ATTR_INTS = 7; // AttributeProto.AttributeType

function node(op, inputs, outputs, attributes = []) {
  const m = new Message();
  for (const i of inputs) m.string(1, i);
  for (const o of outputs) m.string(2, o);
  m.string(3, `${op}_${outputs[0]}`).string(4, op);
  for (const a of attributes) m.message(5, a);
  return m;
}

function intAttr(name, value) { return new Message().string(1, name).int(3, value).int(20, ATTR_INT); }
function intsAttr(name, values) {
  const m = new Message().string(1, name);
  for (const v of values) m.int(8, v);
  return m.int(20, ATTR_INTS);
}

function tensor(name, dims, data) {
  const m = new Message();
  for (const d of dims) m.int(1, d);
  m.int(2, FLOAT).string(8, name);
  return m.raw(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function valueInfo(name, dims) {
  const shape = new Message();
  for (const d of dims) shape.message(1, new Message().int(1, d));
  const tensorType = new Message().int(1, FLOAT).message(2, shape);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

/**
 * Attention over heads × n × d inputs Q, K, V (one batch item) → O, heads × n × d:
 * O = Softmax(Q·Transpose(K) · scale [+ causal mask]) · V.
 */
export function attentionModel({ heads, n, d, causal = false }) {
  const graph = new Message();
  const nodes = [
    node('Transpose', ['K'], ['Kt'], [intsAttr('perm', [0, 2, 1])]),
    node('MatMul', ['Q', 'Kt'], ['S']),
    node('Mul', ['S', 'scale'], ['L']),
  ];
  let logits = 'L';
  if (causal) {
    nodes.push(node('Add', ['L', 'mask'], ['Lm']));
    logits = 'Lm';
  }
  nodes.push(node('Softmax', [logits], ['W'], [intAttr('axis', -1)]), node('MatMul', ['W', 'V'], ['O']));
  for (const n of nodes) graph.message(1, n);
  graph.string(2, 'attention');
  graph.message(5, tensor('scale', [], new Float32Array([1 / Math.sqrt(d)])));
  if (causal) {
    const mask = new Float32Array(n * n);
    for (let i = 0; i < n; ++i) mask.fill(-Infinity, i * n + i + 1, (i + 1) * n);
    graph.message(5, tensor('mask', [n, n], mask));
  }
  for (const name of ['Q', 'K', 'V']) graph.message(11, valueInfo(name, [heads, n, d]));
  graph.message(12, valueInfo('O', [heads, n, d]));
  return new Message()
    .int(1, 8) // ir_version
    .string(2, 'qkv-attention bench')
    .message(7, graph)
    .message(8, new Message().string(1, '').int(2, 17)) // opset_import: ai.onnx 17
    .encode();
}
