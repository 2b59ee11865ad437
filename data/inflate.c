/* data/inflate.c — a small DEFLATE decoder (RFC 1951) inside the gzip
 * container (RFC 1952), so that the library reads MNIST's .gz files without
 * depending on zlib.
 *
 * Safety first: every input byte is read through a bounds-checked bit reader,
 * every output byte is written below a fixed capacity, every back-reference is
 * checked against the bytes already produced by its member, and each gzip
 * member's trailer (CRC32 and length) is verified. The output buffer starts
 * at the size the last trailer declares when that is within the caller's
 * limit and the largest expansion DEFLATE can achieve (258 bytes per 2 bits,
 * about 1032:1), which is exact for a file of one member, and grows up to the
 * limit for files of several members.
 *
 * Speed: Huffman codes of up to 9 bits are decoded by one table lookup (the
 * "fast" table, as in stb_image's zlib); longer codes by a short canonical
 * search. This inflates MNIST's 47 MB of pixels in a fraction of a second.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/internal.h"
#include "tapegrad/data.h"

enum {
    FAST_BITS = 9,
    FAST_SIZE = 1 << FAST_BITS,
    MAX_LIT_CODES = 288, /* 286 usable + 2 that may appear in the fixed code */
    MAX_DIST_CODES = 32,
    MAX_EXPANSION = 1032 /* 258-byte matches coded in 2 bits each */
};

/* A canonical Huffman code prepared for decoding. */
typedef struct huffman {
    uint16_t fast[FAST_SIZE];        /* (length << 9) | symbol; 0 = not a short code */
    uint16_t first_code[17];         /* first code of each length                    */
    uint32_t end_code[18];           /* end of each length's codes, left-aligned to 16 bits */
    uint16_t first_index[17];        /* index into length[]/symbol[] of that first code */
    uint8_t length[MAX_LIT_CODES];   /* codes sorted canonically: their lengths ...  */
    uint16_t symbol[MAX_LIT_CODES];  /* ... and the symbols they stand for           */
} huffman;

static unsigned reverse_bits(unsigned value, int bits)
{
    unsigned reversed = 0;
    for (int i = 0; i < bits; ++i) {
        reversed = (reversed << 1) | (value & 1u);
        value >>= 1;
    }
    return reversed;
}

/* Builds the decoder for `count` code lengths (0 = symbol unused). Incomplete
 * codes are accepted (a stream that uses a missing code fails while decoding);
 * over-subscribed ones are refused. */
static bool huffman_build(huffman *h, const uint8_t *lengths, int count)
{
    int per_length[16] = {0};
    int next_code[16];
    memset(h->fast, 0, sizeof h->fast);
    for (int i = 0; i < count; ++i) per_length[lengths[i]]++;
    per_length[0] = 0;

    int code = 0;
    int index = 0;
    for (int len = 1; len < 16; ++len) {
        next_code[len] = code;
        h->first_code[len] = (uint16_t)code;
        h->first_index[len] = (uint16_t)index;
        code += per_length[len];
        if (code > (1 << len)) return false; /* over-subscribed */
        h->end_code[len] = (uint32_t)code << (16 - len);
        code <<= 1;
        index += per_length[len];
    }
    h->end_code[16] = 0x10000; /* sentinel: no code reaches it */

    for (int i = 0; i < count; ++i) {
        int len = lengths[i];
        if (len == 0) continue;
        int slot = next_code[len] - h->first_code[len] + h->first_index[len];
        h->length[slot] = (uint8_t)len;
        h->symbol[slot] = (uint16_t)i;
        if (len <= FAST_BITS) {
            /* The stream stores codes most-significant bit first while the bit
             * reader hands out the least significant first: index reversed. */
            for (unsigned j = reverse_bits((unsigned)next_code[len], len); j < FAST_SIZE;
                 j += 1u << len)
                h->fast[j] = (uint16_t)((len << 9) | i);
        }
        next_code[len]++;
    }
    return true;
}

/* Bits are consumed least-significant first from a 64-bit buffer. Past the end
 * of the input the buffer is padded with zero bytes, counted in `overrun`; a
 * decoder that consumed any padding has read a truncated stream. */
typedef struct bit_reader {
    const uint8_t *in;
    size_t size;
    size_t pos;
    uint64_t bits;
    int count;
    size_t overrun;
} bit_reader;

static void refill(bit_reader *br)
{
    while (br->count <= 56) {
        uint64_t byte = 0;
        if (br->pos < br->size)
            byte = br->in[br->pos++];
        else
            br->overrun++;
        br->bits |= byte << br->count;
        br->count += 8;
    }
}

static bool truncated(const bit_reader *br)
{
    return (size_t)br->count < br->overrun * 8;
}

static unsigned get_bits(bit_reader *br, int n)
{
    if (br->count < n) refill(br);
    unsigned value = (unsigned)(br->bits & ((1u << n) - 1u));
    br->bits >>= n;
    br->count -= n;
    return value;
}

/* Returns the whole bytes still buffered to the input, dropping the partial
 * byte: the reader then stands on a byte boundary at br->pos. */
static void align_to_byte(bit_reader *br)
{
    size_t buffered = (size_t)br->count / 8;
    size_t real = buffered > br->overrun ? buffered - br->overrun : 0;
    br->pos -= real;
    br->bits = 0;
    br->count = 0;
    br->overrun = 0;
}

/* Next symbol of code `h`, or -1 for a bit pattern that is no code. */
static int decode_symbol(bit_reader *br, const huffman *h)
{
    if (br->count < 16) refill(br);
    unsigned fast = h->fast[br->bits & (FAST_SIZE - 1)];
    if (fast) {
        int len = (int)(fast >> 9);
        br->bits >>= len;
        br->count -= len;
        return (int)(fast & 511u);
    }
    uint32_t left_aligned = reverse_bits((unsigned)(br->bits & 0xffffu), 16);
    int len = FAST_BITS + 1;
    while (left_aligned >= h->end_code[len]) len++;
    if (len >= 16) return -1;
    int slot = (int)(left_aligned >> (16 - len)) - h->first_code[len] + h->first_index[len];
    if (slot < 0 || slot >= MAX_LIT_CODES || h->length[slot] != len) return -1;
    br->bits >>= len;
    br->count -= len;
    return h->symbol[slot];
}

static const uint16_t length_base[29] = {3,  4,  5,  6,  7,  8,  9,  10,  11,  13,
                                         15, 17, 19, 23, 27, 31, 35, 43,  51,  59,
                                         67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t length_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                         2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t distance_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,
                                           17,   25,   33,   49,   65,   97,    129,   193,
                                           257,  385,  513,  769,  1025, 1537,  2049,  3073,
                                           4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t distance_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                           6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

typedef struct output {
    uint8_t *data;
    size_t size;
    size_t capacity;
    size_t start;    /* where the current member's bytes begin: back-references stop there */
    size_t limit;    /* the caller's max_out                                               */
    bool no_memory;  /* a failed realloc, reported as TG_ERR_MEMORY                        */
} output;

#define LIMIT_EXCEEDED "decompressed size exceeds the allowed limit"

/* Makes room for `need` more bytes, doubling the buffer up to the limit
 * (a single member's trailer usually sized it exactly already). */
static const char *output_reserve(output *out, size_t need)
{
    if (need <= out->capacity - out->size) return NULL;
    if (need > out->limit - out->size) return LIMIT_EXCEEDED;
    size_t capacity = out->capacity < 4096 ? 4096 : out->capacity;
    while (capacity - out->size < need && capacity < out->limit)
        capacity = capacity > out->limit / 2 ? out->limit : capacity * 2;
    if (capacity > out->limit) capacity = out->limit;
    uint8_t *grown = realloc(out->data, capacity ? capacity : 1);
    if (!grown) {
        out->no_memory = true;
        return "out of memory";
    }
    out->data = grown;
    out->capacity = capacity;
    return NULL;
}

/* Decodes one Huffman-coded block into `out`. */
static const char *inflate_codes(bit_reader *br, output *out, const huffman *literals,
                                 const huffman *distances)
{
    for (;;) {
        if (br->count < 48) refill(br); /* one symbol needs at most 15+5+15+13 bits */
        int symbol = decode_symbol(br, literals);
        if (symbol < 0) return "invalid literal/length code";
        if (truncated(br)) return "compressed data is truncated";
        if (symbol < 256) {
            const char *why = out->size < out->capacity ? NULL : output_reserve(out, 1);
            if (why) return why;
            out->data[out->size++] = (uint8_t)symbol;
            continue;
        }
        if (symbol == 256) return NULL;
        symbol -= 257;
        if (symbol >= 29) return "invalid length symbol";
        size_t length = length_base[symbol] + get_bits(br, length_extra[symbol]);
        int dsym = decode_symbol(br, distances);
        if (dsym < 0 || dsym >= 30) return "invalid distance code";
        size_t distance = distance_base[dsym] + get_bits(br, distance_extra[dsym]);
        if (truncated(br)) return "compressed data is truncated";
        if (distance > out->size - out->start) return "back-reference before the start of the data";
        const char *why = output_reserve(out, length);
        if (why) return why;
        uint8_t *dst = out->data + out->size;
        const uint8_t *src = dst - distance;
        if (distance >= length) {
            memcpy(dst, src, length);
        } else {
            for (size_t i = 0; i < length; ++i) dst[i] = src[i]; /* overlapping run */
        }
        out->size += length;
    }
}

static const char *inflate_stored(bit_reader *br, output *out)
{
    align_to_byte(br);
    if (br->size - br->pos < 4) return "stored block header is truncated";
    const uint8_t *p = br->in + br->pos;
    unsigned len = (unsigned)p[0] | ((unsigned)p[1] << 8);
    unsigned nlen = (unsigned)p[2] | ((unsigned)p[3] << 8);
    if ((len ^ 0xffffu) != nlen) return "stored block length check failed";
    br->pos += 4;
    if (br->size - br->pos < len) return "stored block is truncated";
    const char *why = output_reserve(out, len);
    if (why) return why;
    memcpy(out->data + out->size, br->in + br->pos, len);
    out->size += len;
    br->pos += len;
    return NULL;
}

static void fixed_codes(huffman *literals, huffman *distances)
{
    uint8_t lengths[MAX_LIT_CODES];
    int i = 0;
    for (; i < 144; ++i) lengths[i] = 8;
    for (; i < 256; ++i) lengths[i] = 9;
    for (; i < 280; ++i) lengths[i] = 7;
    for (; i < 288; ++i) lengths[i] = 8;
    huffman_build(literals, lengths, 288);
    uint8_t dist_lengths[30];
    memset(dist_lengths, 5, sizeof dist_lengths);
    huffman_build(distances, dist_lengths, 30);
}

static const char *dynamic_codes(bit_reader *br, huffman *literals, huffman *distances)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    refill(br);
    int n_lit = (int)get_bits(br, 5) + 257;
    int n_dist = (int)get_bits(br, 5) + 1;
    int n_len = (int)get_bits(br, 4) + 4;
    if (n_lit > 286 || n_dist > 30) return "too many length or distance codes";

    uint8_t code_lengths[19] = {0};
    for (int i = 0; i < n_len; ++i) code_lengths[order[i]] = (uint8_t)get_bits(br, 3);
    huffman length_code;
    if (!huffman_build(&length_code, code_lengths, 19)) return "invalid code-length code";

    uint8_t lengths[286 + 30];
    int total = n_lit + n_dist;
    int n = 0;
    while (n < total) {
        if (br->count < 32) refill(br);
        int symbol = decode_symbol(br, &length_code);
        if (symbol < 0) return "invalid code-length symbol";
        if (symbol < 16) {
            lengths[n++] = (uint8_t)symbol;
            continue;
        }
        int repeat;
        uint8_t value = 0;
        if (symbol == 16) {
            if (n == 0) return "length repeat with no previous length";
            value = lengths[n - 1];
            repeat = 3 + (int)get_bits(br, 2);
        } else if (symbol == 17) {
            repeat = 3 + (int)get_bits(br, 3);
        } else {
            repeat = 11 + (int)get_bits(br, 7);
        }
        if (repeat > total - n) return "code lengths run past their count";
        memset(lengths + n, value, (size_t)repeat);
        n += repeat;
    }
    if (truncated(br)) return "compressed data is truncated";
    if (lengths[256] == 0) return "no end-of-block code";
    if (!huffman_build(literals, lengths, n_lit)) return "invalid literal/length code lengths";
    if (!huffman_build(distances, lengths + n_lit, n_dist)) return "invalid distance code lengths";
    return NULL;
}

/* Inflates a raw DEFLATE stream from br into out; leaves br on the byte after it. */
static const char *inflate_stream(bit_reader *br, output *out)
{
    huffman literals, distances;
    bool last = false;
    while (!last) {
        refill(br);
        last = get_bits(br, 1) != 0;
        unsigned type = get_bits(br, 2);
        if (truncated(br)) return "compressed data is truncated";
        const char *why = NULL;
        if (type == 0) {
            why = inflate_stored(br, out);
        } else if (type == 1) {
            fixed_codes(&literals, &distances);
            why = inflate_codes(br, out, &literals, &distances);
        } else if (type == 2) {
            why = dynamic_codes(br, &literals, &distances);
            if (!why) why = inflate_codes(br, out, &literals, &distances);
        } else {
            why = "invalid block type 3";
        }
        if (why) return why;
    }
    align_to_byte(br);
    return NULL;
}

/* CRC-32 (ISO-HDLC, the one of gzip and zip), four bytes per step
 * ("slicing-by-4": table k advances the CRC over a byte followed by k zero
 * bytes). The tables are built per call, so there is no shared state to
 * initialize across threads; building them costs far less than 1 ms. */
static uint32_t crc32_of(const uint8_t *data, size_t size)
{
    uint32_t table[4][256];
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[0][i] = c;
    }
    for (int k = 1; k < 4; ++k)
        for (int i = 0; i < 256; ++i)
            table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xffu];
    uint32_t crc = 0xffffffffu;
    for (; size >= 4; data += 4, size -= 4) {
        crc ^= (uint32_t)data[0] | ((uint32_t)data[1] << 8) | ((uint32_t)data[2] << 16) | ((uint32_t)data[3] << 24);
        crc = table[3][crc & 0xffu] ^ table[2][(crc >> 8) & 0xffu] ^ table[1][(crc >> 16) & 0xffu] ^
              table[0][crc >> 24];
    }
    for (; size > 0; ++data, --size) crc = table[0][(crc ^ *data) & 0xffu] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

static uint32_t read_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Skips the gzip header; returns its length or 0 if malformed. */
static size_t gzip_header_length(const uint8_t *in, size_t size, const char **why)
{
    enum { FTEXT = 1, FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16, FRESERVED = 0xe0 };
    if (size < 18) { *why = "too short for a gzip file"; return 0; }
    if (in[0] != 0x1f || in[1] != 0x8b) { *why = "not gzip data (bad magic bytes)"; return 0; }
    if (in[2] != 8) { *why = "unknown gzip compression method"; return 0; }
    unsigned flags = in[3];
    if (flags & FRESERVED) { *why = "reserved gzip flag bits set"; return 0; }
    size_t pos = 10;
    if (flags & FEXTRA) {
        if (size - pos < 2) { *why = "gzip header is truncated"; return 0; }
        size_t extra = (size_t)in[pos] | ((size_t)in[pos + 1] << 8);
        pos += 2;
        if (size - pos < extra) { *why = "gzip header is truncated"; return 0; }
        pos += extra;
    }
    for (unsigned flag = FNAME; flag <= FCOMMENT; flag <<= 1) {
        if (!(flags & flag)) continue;
        const uint8_t *end = memchr(in + pos, 0, size - pos);
        if (!end) { *why = "gzip header is truncated"; return 0; }
        pos = (size_t)(end - in) + 1;
    }
    if (flags & FHCRC) {
        if (size - pos < 2) { *why = "gzip header is truncated"; return 0; }
        uint32_t crc = crc32_of(in, pos) & 0xffffu;
        if (((uint32_t)in[pos] | ((uint32_t)in[pos + 1] << 8)) != crc) {
            *why = "gzip header checksum mismatch";
            return 0;
        }
        pos += 2;
    }
    return pos;
}

/* Inflates the gzip member at the start of in[0..size) onto `dst` and checks
 * its trailer; *used is the member's length. Returns NULL or the problem. */
static const char *gunzip_member(const uint8_t *in, size_t size, output *dst, size_t *used)
{
    const char *why = NULL;
    size_t header = gzip_header_length(in, size, &why);
    if (header == 0) return why;
    if (size - header < 8) return "gzip data is truncated";
    /* The deflate stream may not run into the last 8 bytes: in the last
     * member they are its trailer, so a truncated stream is caught. */
    bit_reader br = {in + header, size - header - 8, 0, 0, 0, 0};
    dst->start = dst->size;
    if ((why = inflate_stream(&br, dst))) return why;
    const uint8_t *trailer = in + header + br.pos;
    size_t produced = dst->size - dst->start;
    /* ISIZE is the length modulo 2^32. */
    uint32_t declared = read_le32(trailer + 4);
    if ((uint32_t)produced != declared) {
        bool impossible = br.pos < SIZE_MAX / MAX_EXPANSION && declared > br.pos * MAX_EXPANSION + 1024;
        return impossible ? "declared size impossible for the compressed size (truncated or corrupt)"
                          : "length differs from the gzip trailer (truncated?)";
    }
    if (crc32_of(dst->data + dst->start, produced) != read_le32(trailer)) return "CRC32 mismatch (corrupt data)";
    *used = header + br.pos + 8;
    return NULL;
}

static bool starts_a_member(const uint8_t *in, size_t size) { return size >= 2 && in[0] == 0x1f && in[1] == 0x8b; }

tg_status tgi_gunzip(const uint8_t *in, size_t in_size, size_t max_out, uint8_t **out,
                     size_t *out_size, const char **why)
{
    *out = NULL;
    *out_size = 0;
    *why = NULL;
    /* The buffer starts at the size the file's last 4 bytes declare (the
     * trailer of the last member: exact for a file of one member) when it is
     * within the limit and the largest expansion of the input; it grows as
     * needed otherwise. */
    size_t hint = in_size >= 4 ? read_le32(in + in_size - 4) : 0;
    if (hint > max_out) hint = max_out;
    if (in_size < SIZE_MAX / MAX_EXPANSION && hint > in_size * MAX_EXPANSION + 1024) hint = 0;
    output dst = {malloc(hint ? hint : 1), 0, hint, 0, max_out, false};
    if (!dst.data) { *why = "out of memory"; return TG_ERR_MEMORY; }

    /* Members one after another, as gzip -d reads them (RFC 1952 2.2), each
     * with its own trailer; anything after the last member is an error. */
    size_t pos = 0;
    do {
        size_t used = 0;
        *why = gunzip_member(in + pos, in_size - pos, &dst, &used);
        pos += used;
    } while (!*why && pos < in_size && starts_a_member(in + pos, in_size - pos));
    if (!*why && pos < in_size) *why = "trailing garbage after the last gzip member (bytes that start no member)";
    if (*why) {
        free(dst.data);
        return dst.no_memory ? TG_ERR_MEMORY : TG_ERR_FORMAT;
    }
    *out = dst.data;
    *out_size = dst.size;
    return TG_OK;
}

tg_status tg_gunzip(const void *in, size_t in_size, size_t max_out, uint8_t **out, size_t *out_size)
{
    if (!out || !out_size) return tg_error_report(TG_ERR_ARGUMENT, "tg_gunzip", "out or out_size is NULL");
    *out = NULL;
    *out_size = 0;
    if (!in && in_size) return tg_error_report(TG_ERR_ARGUMENT, "tg_gunzip", "input is NULL");
    const char *why = NULL;
    tg_status status = tgi_gunzip(in, in_size, max_out, out, out_size, &why);
    if (status) return tg_error_report(status, "tg_gunzip", "%s", why);
    return TG_OK;
}
