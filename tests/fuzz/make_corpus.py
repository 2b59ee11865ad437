#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz harnesses: tests/fuzz/corpus/<loader>/.

Small valid files of each format and a few near-valid ones (one field off),
so that the fuzzer starts from inputs that reach deep into each parser.
Deterministic (no time stamps, no randomness): running it again rewrites the
same bytes. Usage: python3 tests/fuzz/make_corpus.py
"""
import gzip
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def write(loader, name, data):
    directory = os.path.join(HERE, "corpus", loader)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def gz(data, level=9, name=None):
    """A gzip member (RFC 1952), mtime 0; with FNAME when `name` is given."""
    if name is None:
        return gzip.compress(data, compresslevel=level, mtime=0)
    flags = 0x08
    header = bytes([0x1F, 0x8B, 8, flags, 0, 0, 0, 0, 0, 255]) + name + b"\0"
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush()
    return header + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


# ---- gzip: stored, fixed-Huffman and dynamic-Huffman blocks, header flags.
def make_gzip():
    text = b"the quick brown fox jumps over the lazy dog\n" * 20
    write("gzip", "empty.gz", gz(b""))
    write("gzip", "short_fixed.gz", gz(b"hello, hello, hello"))
    write("gzip", "stored.gz", gz(bytes(range(64)), level=0))
    write("gzip", "dynamic.gz", gz(text))
    write("gzip", "long_match.gz", gz(b"a" * 3000))
    write("gzip", "fname.gz", gz(b"named member\n", name=b"file.txt"))
    good = gz(b"crc must match")
    write("gzip", "bad_crc.gz", good[:-8] + bytes([good[-8] ^ 1]) + good[-7:])
    write("gzip", "truncated.gz", gz(text)[:40])


# ---- IDX: big-endian header, every element type, gzip too.
IDX_TYPES = {"u8": (0x08, "B"), "i8": (0x09, "b"), "i16": (0x0B, "h"), "i32": (0x0C, "i"),
             "f32": (0x0D, "f"), "f64": (0x0E, "d")}


def idx(type_name, dims, values):
    code, fmt = IDX_TYPES[type_name]
    header = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return header + b"".join(struct.pack(">" + fmt, v) for v in values)


def make_idx():
    write("idx", "u8_images_2x3x4.idx", idx("u8", [2, 3, 4], list(range(24))))
    write("idx", "u8_labels_5.idx", idx("u8", [5], [0, 1, 2, 3, 9]))
    write("idx", "i8_2x2.idx", idx("i8", [2, 2], [-128, -1, 0, 127]))
    write("idx", "i16_3.idx", idx("i16", [3], [-32768, 1, 32767]))
    write("idx", "i32_2x1.idx", idx("i32", [2, 1], [-2**31, 2**31 - 1]))
    write("idx", "f32_2x2.idx", idx("f32", [2, 2], [1.5, -0.0, 1e-45, 3.0e38]))
    write("idx", "f64_1x1x1x1.idx", idx("f64", [1, 1, 1, 1], [3.141592653589793]))
    write("idx", "empty_0x28x28.idx", idx("u8", [0, 28, 28], []))
    write("idx", "u8_images.idx.gz", gz(idx("u8", [3, 4, 4], [i * 5 % 256 for i in range(48)])))
    write("idx", "near_trailing_byte.idx", idx("u8", [2], [1, 2]) + b"\x07")
    write("idx", "near_dims_too_large.idx", idx("u8", [60000, 28, 28], [1, 2, 3, 4]))
    write("idx", "near_truncated_header.idx", bytes([0, 0, 8, 3, 0, 0, 0, 2, 0]))


# ---- CSV: the first byte selects the options (see fuzz_csv.c).
def csv_options(delimiter=",", header=False, label="last", kind="class", storage="f64"):
    byte = ",;\t ".index(delimiter)
    byte |= 4 if header else 0
    byte |= {"last": 0, "first": 1, "second": 2, "none": 3}[label] << 3
    byte |= 32 if kind == "target" else 0
    byte |= 64 if storage == "f32" else 0
    return bytes([byte])


def make_csv():
    write("csv", "header_classes.csv",
          csv_options(header=True) + b"x,y,label\r\n1.5, -2 ,0\r\n\"3\",4e1,2\r\n\r\n0.25,0,1\r\n")
    write("csv", "semicolon_target_first.csv",
          csv_options(";", label="first", kind="target", storage="f32") + b"10;1;2\n20;3;4\n")
    write("csv", "tabs_no_label.csv", csv_options("\t", label="none") + b"1\t2\t3\n4\t5\t6")
    write("csv", "spaces_second.csv", csv_options(" ", label="second") + b"0.5 1 7\n-1e-3 0 8\n")
    write("csv", "gzipped_is_not_text.csv", csv_options() + gz(b"1,2,0\n"))
    write("csv", "near_ragged.csv", csv_options() + b"1,2,0\n3,4\n")
    write("csv", "near_nan.csv", csv_options() + b"1,nan,0\n")
    write("csv", "near_bad_class.csv", csv_options() + b"1,2,0.5\n")
    write("csv", "near_header_only.csv", csv_options(header=True) + b"a,b,c\n")


# ---- safetensors, with the whole-file checksum as tg_checkpoint_save writes it.
def safetensors(tensors, metadata=None, checksum="file"):
    """tensors: list of (name, dtype, shape, raw little-endian bytes)."""
    meta = {}
    if checksum == "file":
        meta["tapegrad.checksum"] = "fnv1a64-file:" + "0" * 16
    meta.update(metadata or {})
    header, offset, data = {}, 0, b""
    if meta:
        header["__metadata__"] = meta
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        data += raw
    if checksum == "data":
        header.setdefault("__metadata__", {})["tapegrad.checksum"] = "fnv1a64:%016x" % fnv1a64(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    whole = struct.pack("<Q", len(text)) + text + data
    if checksum == "file":
        digits = whole.index(b"fnv1a64-file:") + len("fnv1a64-file:")
        whole = whole[:digits] + b"%016x" % fnv1a64(whole) + whole[digits + 16:]
    return whole


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def f64(*values):
    return struct.pack("<%dd" % len(values), *values)


def make_safetensors():
    weights = ("layer.weight", "F32", [2, 3], f32(1.5, -0.0, 1e-45, float("inf"), 3.4e38, -2.25))
    scalar = ("scale", "F64", [], f64(3.141592653589793))
    empty = ("nothing", "F64", [0, 4], b"")
    write("safetensors", "model.safetensors", safetensors([weights, scalar, empty]))
    write("safetensors", "metadata.safetensors",
          safetensors([scalar], {"step": "100", "note": "caf\u00e9 \"quoted\"\n"}))
    write("safetensors", "no_checksum.safetensors", safetensors([weights, empty], checksum=None))
    write("safetensors", "data_checksum.safetensors", safetensors([weights], checksum="data"))
    write("safetensors", "other_dtypes.safetensors",
          safetensors([("ids", "I64", [2], struct.pack("<2q", -1, 7)), ("mask", "BOOL", [3], b"\1\0\1"),
                       ("half", "F16", [1], b"\0\x3c")], checksum=None))
    write("safetensors", "empty.safetensors", safetensors([]))
    rank8 = ("cube", "F32", [1] * 8, f32(2.0))
    write("safetensors", "rank8.safetensors", safetensors([rank8]))
    good = safetensors([weights, scalar])
    write("safetensors", "near_bad_checksum.safetensors", good[:-1] + bytes([good[-1] ^ 1]))
    write("safetensors", "near_truncated.safetensors", good[:-4])
    write("safetensors", "near_overlap.safetensors",
          safetensors([("a", "F32", [1], f32(1)), ("b", "F32", [1], f32(2))], checksum=None)
          .replace(b'"data_offsets":[4,8]', b'"data_offsets":[0,4]'))
    # Every convertible dtype, with values at the edges of the conversion rule.
    write("safetensors", "half_floats.safetensors",
          safetensors([("f16", "F16", [5], struct.pack("<5H", 0x3C00, 0xC100, 0x0001, 0x7C00, 0x7E00)),
                       ("bf16", "BF16", [4], struct.pack("<4H", 0x3F80, 0xC020, 0x0001, 0xFF80))]))
    write("safetensors", "integers.safetensors",
          safetensors([("i32", "I32", [2], struct.pack("<2i", -2 ** 31, 16777217)),
                       ("i64", "I64", [2], struct.pack("<2q", 2 ** 53 + 1, -2 ** 63)),
                       ("u64", "U64", [1], struct.pack("<Q", 2 ** 64 - 1)),
                       ("i16", "I16", [1], struct.pack("<h", -32768)), ("u8", "U8", [1], b"\xff")],
                      checksum=None))
    write("safetensors", "near_f32_overflow.safetensors",
          safetensors([("w", "F64", [3], f64(0.1, 1e39, -float("inf")))]))
    # A model in PyTorch's layout as tg_model_save writes it, and as PyTorch's
    # safetensors writer does (its "format" metadata, no checksum).
    linear = [("0.weight", "F32", [3, 2], f32(1, 2, 3, 4, 5, 6)), ("0.bias", "F32", [3], f32(0.5, -1, 0.25))]
    write("safetensors", "model_pytorch_layout.safetensors", safetensors(linear, {"tapegrad.layout": "pytorch"}))
    write("safetensors", "torch_written.safetensors", safetensors(linear, {"format": "pt"}, checksum=None))


# ---- llmc: llm.c token files (256 int32 header, uint16 tokens).
def llmc(tokens, magic=20240520, version=1, count=None, extra=b""):
    header = [0] * 256
    header[0], header[1] = magic, version
    header[2] = len(tokens) if count is None else count
    return struct.pack("<256i", *header) + struct.pack("<%dH" % len(tokens), *tokens) + extra


def make_llmc():
    write("llmc", "bytes.bin", llmc(list(b"hello, world\n")))
    write("llmc", "gpt2_ids.bin", llmc([50256, 15496, 11, 995, 0, 65535]))
    write("llmc", "empty.bin", llmc([]))
    write("llmc", "bad_magic.bin", llmc([1, 2, 3], magic=20240521))
    write("llmc", "bad_version.bin", llmc([1, 2, 3], version=2))
    write("llmc", "count_too_large.bin", llmc([1, 2, 3], count=4))
    write("llmc", "negative_count.bin", llmc([1, 2, 3], count=-1))
    write("llmc", "trailing_byte.bin", llmc([1, 2, 3], extra=b"\0"))
    write("llmc", "short_header.bin", llmc([])[:1000])


if __name__ == "__main__":
    make_gzip()
    make_idx()
    make_csv()
    make_safetensors()
    make_llmc()
