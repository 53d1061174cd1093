"""Read and write the .qkv weights container (see models/FORMAT.md). Standard library + numpy only.

This module is deliberately independent of the training code: check_qkv.py uses it to show that the
file alone reproduces the fixtures."""
import json
import struct
import zlib

import numpy as np

MAGIC = b"QKVM"
VERSION = 1


def _align16(n):
    return (n + 15) // 16 * 16


def quantize_rows(x):
    """Symmetric int8, one f32 scale per row of the first dimension (value = q * scale[row])."""
    x = np.asarray(x, dtype=np.float64)
    rows = x.reshape(x.shape[0], -1)
    amax = np.abs(rows).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(rows / scale.astype(np.float64)[:, None]), -127, 127).astype(np.int8)
    return q.reshape(x.shape), scale


def write_qkv(path, kind, config, vocab, tensors, provenance, dtypes=None):
    """tensors: list of (name, ndarray). Matrices (ndim >= 2) are stored int8 unless dtypes[name]
    says 'f16' or 'f32'; 1-D tensors are f32. Returns {name: dequantized float64 array}."""
    dtypes = dtypes or {}
    data = bytearray()
    entries = []
    stored = {}

    def put(buf):
        nonlocal data
        data += b"\0" * (_align16(len(data)) - len(data))
        off = len(data)
        data += buf
        return off

    for name, arr in tensors:
        arr = np.asarray(arr)
        dtype = "f32" if arr.ndim == 1 else dtypes.get(name, "int8")
        entry = {"name": name, "dtype": dtype, "shape": list(arr.shape)}
        if dtype == "int8":
            q, scale = quantize_rows(arr)
            entry["offset"] = put(q.tobytes())
            entry["nbytes"] = q.nbytes
            entry["scales_offset"] = put(scale.astype("<f4").tobytes())
            entry["scales_nbytes"] = scale.nbytes
            stored[name] = q.astype(np.float64) * scale.astype(np.float64).reshape(
                (-1,) + (1,) * (arr.ndim - 1))
        else:
            npdt = "<f4" if dtype == "f32" else "<f2"
            b = arr.astype(npdt)
            entry["offset"] = put(b.tobytes())
            entry["nbytes"] = b.nbytes
            stored[name] = b.astype(np.float64)
        entries.append(entry)
    data += b"\0" * (_align16(len(data)) - len(data))
    header = {
        "format": "qkv-attention-weights", "version": VERSION, "kind": kind,
        "config": config, "vocab": list(vocab), "tensors": entries,
        "data_bytes": len(data), "data_crc32": "%08x" % (zlib.crc32(bytes(data)) & 0xFFFFFFFF),
        "provenance": provenance,
    }
    hb = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    pre = MAGIC + struct.pack("<II", VERSION, len(hb)) + hb
    pre += b"\0" * (_align16(len(pre)) - len(pre))
    with open(path, "wb") as f:
        f.write(pre)
        f.write(bytes(data))
    return stored


def read_qkv(path):
    """Returns (header, {name: float64 ndarray}) after checking magic, version, sizes and CRC."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:4] != MAGIC:
        raise ValueError("not a .qkv file (bad magic)")
    version, hlen = struct.unpack_from("<II", blob, 4)
    if version != VERSION:
        raise ValueError("unsupported .qkv version %d" % version)
    header = json.loads(blob[12:12 + hlen].decode("utf-8"))
    start = _align16(12 + hlen)
    data = blob[start:start + header["data_bytes"]]
    if len(data) != header["data_bytes"]:
        raise ValueError("truncated .qkv data section")
    if "%08x" % (zlib.crc32(data) & 0xFFFFFFFF) != header["data_crc32"]:
        raise ValueError("CRC mismatch in .qkv data section")
    out = {}
    for t in header["tensors"]:
        shape = tuple(t["shape"])
        raw = data[t["offset"]:t["offset"] + t["nbytes"]]
        if t["dtype"] == "int8":
            q = np.frombuffer(raw, dtype=np.int8).astype(np.float64).reshape(shape)
            s = np.frombuffer(data[t["scales_offset"]:t["scales_offset"] + t["scales_nbytes"]],
                              dtype="<f4").astype(np.float64)
            out[t["name"]] = q * s.reshape((-1,) + (1,) * (len(shape) - 1))
        elif t["dtype"] in ("f32", "f16"):
            dt = "<f4" if t["dtype"] == "f32" else "<f2"
            out[t["name"]] = np.frombuffer(raw, dtype=dt).astype(np.float64).reshape(shape)
        else:
            raise ValueError("unknown dtype %r" % t["dtype"])
    return header, out
