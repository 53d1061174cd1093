// qkv-attention: the package entry. Read in this order:
//   loading.js    which WebAssembly build, where its file is (assets.js), loading it once
//   attention.js  attention() and multiHeadAttention(): options read and checked once (checks.js)
//   call.js       the one way into wasm: a frame of arguments, one exported function, one status
//   tensor.js     Tensor, float32 data resident in wasm memory
//   errors.js     the classes and codes of every error the package throws
// The trained model and word vectors are the `qkv-attention/model` entry (model.js, embeddings.js),
// so that an application using only attention() carries no weight files.
export { loadAttention, simdSupported, relaxedSimdSupported } from './loading.js';
export { Attention } from './attention.js';
export { Tensor } from './tensor.js';
export { AssetError, WeightsFormatError } from './errors.js';
export { tokenize, encode } from './tokenizer.js';
