/* ops/kernels/gemm.c — the BLIS five-loop framework around the micro-kernels.
 *
 *   for jc in steps of NC over the columns of C            (B block: KC x NC, in L3)
 *     for pc in steps of KC over k                           pack B(pc, jc) -> b_buf
 *       for ic in steps of MC over the rows of C           (A block: MC x KC, in L2)
 *         pack A(ic, pc) -> a_buf
 *         for jr in steps of NR, for ir in steps of MR     (B micro-panel in L1)
 *           micro-kernel: C(ic+ir, jc+jr) = alpha * a_panel . b_panel + beta' * C
 *
 * where beta' is the caller's beta for the first KC block and 1 afterwards.
 * Packing reads op(A) and op(B) in place, whichever way they are stored, and
 * zero-pads the last micro-panels so the kernels always compute full tiles.
 *
 * Threads split C into column strips (or row strips when C is tall), whole
 * micro-tiles each; each thread runs the five loops on its strip with its own
 * packing buffers. Products of 2^29 multiply-adds or more split into row
 * strips instead cut them into blocks that threads claim as they come free
 * (row_blocks, below), so that a core slowed by other work does not hold up
 * the product. The per-element reduction (KC blocks in order, p in order
 * inside) does not depend on the split, so results do not depend on the
 * thread count. With row strips every thread packs all of B (a shared packed
 * B was tried and did not pay: bench/RESULTS.md). */
#include "ops/kernels/gemm.h"

#include "core/error_internal.h"
#include "core/threadpool.h"
#include "ops/kernels/gemm_config.h" /* generated: TG_HAVE_AVX2_KERNEL */
#include "tapegrad/error.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- the kernel table ------------------------------------------------------ */

typedef struct gemm_blocking {
    int mr, nr;         /* micro-tile */
    int64_t mc, kc, nc; /* cache blocks; mc a multiple of mr, nc of nr */
} gemm_blocking;

typedef struct gemm_kernel {
    const char *name;
    gemm_blocking f32, f64;
    tg_gemm_micro_f32 *micro_f32;
    tg_gemm_micro_f64 *micro_f64;
    tg_gemm_pack_f32 *pack_f32;
    tg_gemm_pack_f64 *pack_f64;
    /* Unpacked products with n <= narrow_cols_* (gemm.h), rows split over
     * threads in blocks of narrow_rows; NULL: none. */
    tg_gemm_narrow_fn *narrow_f32, *narrow_f64;
    int64_t narrow_cols_f32, narrow_cols_f64, narrow_rows;
} gemm_kernel;

static const gemm_kernel portable_kernel = {
    "portable",
    {TG_GEMM_REF_MR_F32, TG_GEMM_REF_NR_F32, 128, 256, 4096},
    {TG_GEMM_REF_MR_F64, TG_GEMM_REF_NR_F64, 64, 256, 2048},
    tgi_gemm_ref_micro_f32,
    tgi_gemm_ref_micro_f64,
    tgi_gemm_ref_pack_f32,
    tgi_gemm_ref_pack_f64,
    NULL,
    NULL,
    0,
    0,
    0,
};

#ifdef TG_HAVE_AVX2_KERNEL
/* Zen/Haswell class: A block (MC x KC) fills about half of L2, B micro-panel
 * (KC x NR) a third of L1. */
static const gemm_kernel avx2_kernel = {
    "avx2-fma",
    {TG_GEMM_AVX2_MR_F32, TG_GEMM_AVX2_NR_F32, 144, 256, 4080},
    {TG_GEMM_AVX2_MR_F64, TG_GEMM_AVX2_NR_F64, 72, 256, 4080},
    tgi_gemm_avx2_micro_f32,
    tgi_gemm_avx2_micro_f64,
    tgi_gemm_avx2_pack_f32,
    tgi_gemm_avx2_pack_f64,
    tgi_gemm_avx2_narrow_f32,
    tgi_gemm_avx2_narrow_f64,
    TG_GEMM_AVX2_NARROW_F32,
    TG_GEMM_AVX2_NARROW_F64,
    TG_GEMM_AVX2_NARROW_ROWS,
};
#endif

#ifdef TG_HAVE_AVX512_KERNEL
/* Skylake-X / Sapphire Rapids class (L1 48 KiB, L2 1-2 MiB): B micro-panel
 * (KC x NR) about half of L1, A block (MC x KC) a quarter of L2, and
 * float32's B block (KC x NC) 1 MiB, so that it stays in L2 beside the A
 * block. The float64 blocking trials are in bench/RESULTS.md. */
static const gemm_kernel avx512_kernel = {
    "avx512",
    {TG_GEMM_AVX512_MR_F32, TG_GEMM_AVX512_NR_F32, 384, 256, 1024},
    {TG_GEMM_AVX512_MR_F64, TG_GEMM_AVX512_NR_F64, 192, 256, 2048},
    tgi_gemm_avx512_micro_f32,
    tgi_gemm_avx512_micro_f64,
    tgi_gemm_avx2_pack_f32,
    tgi_gemm_avx2_pack_f64,
    tgi_gemm_avx512_narrow_f32,
    tgi_gemm_avx512_narrow_f64,
    TG_GEMM_AVX512_NARROW_F32,
    TG_GEMM_AVX512_NARROW_F64,
    TG_GEMM_AVX512_NARROW_ROWS,
};
#endif

#if (defined(TG_HAVE_AVX2_KERNEL) || defined(TG_HAVE_AVX512_KERNEL)) && \
    (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define TG_CAN_DETECT_X86 1
#endif

/* The kernels this build has and this CPU runs, best first. */
static const gemm_kernel *usable_kernels[3];
static int n_usable_kernels;

static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;
static const gemm_kernel *default_kernel = &portable_kernel;
static _Atomic(const gemm_kernel *) chosen_kernel; /* tgi_gemm_use_kernel(); NULL: default */

static const gemm_kernel *usable_kernel_named(const char *name)
{
    for (int i = 0; i < n_usable_kernels; i++)
        if (strcmp(usable_kernels[i]->name, name) == 0) return usable_kernels[i];
    return NULL;
}

static void find_kernels(void)
{
#ifdef TG_CAN_DETECT_X86
    __builtin_cpu_init();
#ifdef TG_HAVE_AVX512_KERNEL
    if (__builtin_cpu_supports("avx512f")) usable_kernels[n_usable_kernels++] = &avx512_kernel;
#endif
#ifdef TG_HAVE_AVX2_KERNEL
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        usable_kernels[n_usable_kernels++] = &avx2_kernel;
#endif
#endif
    usable_kernels[n_usable_kernels++] = &portable_kernel;
    default_kernel = usable_kernels[0];
    const char *env = getenv("TG_GEMM_KERNEL");
    if (env == NULL || *env == '\0') return;
    if (usable_kernel_named(env) != NULL) {
        default_kernel = usable_kernel_named(env);
        return;
    }
    char names[64] = "";
    for (int i = 0; i < n_usable_kernels; i++) {
        if (i > 0) strncat(names, ", ", sizeof names - strlen(names) - 1);
        strncat(names, usable_kernels[i]->name, sizeof names - strlen(names) - 1);
    }
    tgi_warning("TG_GEMM_KERNEL", "\"%s\" is not a kernel this build can run on this CPU (it can run: %s); using %s",
               env, names, default_kernel->name);
}

static const gemm_kernel *current_kernel(void)
{
    pthread_once(&kernel_once, find_kernels);
    const gemm_kernel *chosen = atomic_load(&chosen_kernel);
    return chosen != NULL ? chosen : default_kernel;
}

const char *tg_gemm_kernel_name(void) { return current_kernel()->name; }

bool tgi_gemm_use_kernel(const char *name)
{
    pthread_once(&kernel_once, find_kernels);
    if (name == NULL) {
        atomic_store(&chosen_kernel, NULL);
        return true;
    }
    const gemm_kernel *kernel = usable_kernel_named(name);
    if (kernel == NULL) return false;
    atomic_store(&chosen_kernel, kernel);
    return true;
}

void tgi_gemm_force_portable(bool on) { tgi_gemm_use_kernel(on ? "portable" : NULL); }

/* ---- per-thread packing buffers ---------------------------------------------
 * One pair per OS thread (pool workers and user threads alike), grown to the
 * largest block seen and kept: after warm-up a product allocates nothing. */

typedef struct pack_buffers {
    void *a, *b;
    size_t a_bytes, b_bytes;
} pack_buffers;

static pthread_key_t buffers_key;
static bool have_buffers_key;
static pthread_once_t buffers_once = PTHREAD_ONCE_INIT;

static void free_buffers(void *p)
{
    pack_buffers *buffers = p;
    free(buffers->a);
    free(buffers->b);
    free(buffers);
}

static void make_buffers_key(void)
{
    have_buffers_key = pthread_key_create(&buffers_key, free_buffers) == 0;
}

static bool reserve(void **buf, size_t *have, size_t bytes)
{
    if (*have >= bytes) return true;
    void *fresh = NULL;
    bytes = (bytes + 4095) & ~(size_t)4095;
    if (posix_memalign(&fresh, 64, bytes) != 0) return false;
    free(*buf);
    *buf = fresh;
    *have = bytes;
    return true;
}

/* This thread's buffers with room for `a_bytes` and `b_bytes`; NULL if out of memory. */
static pack_buffers *thread_buffers(size_t a_bytes, size_t b_bytes)
{
    pthread_once(&buffers_once, make_buffers_key);
    if (!have_buffers_key) return NULL;
    pack_buffers *buffers = pthread_getspecific(buffers_key);
    if (buffers == NULL) {
        buffers = calloc(1, sizeof *buffers);
        if (buffers == NULL || pthread_setspecific(buffers_key, buffers) != 0) {
            free(buffers);
            return NULL;
        }
    }
    if (!reserve(&buffers->a, &buffers->a_bytes, a_bytes)) return NULL;
    if (!reserve(&buffers->b, &buffers->b_bytes, b_bytes)) return NULL;
    return buffers;
}

/* ---- sizes and work split ---------------------------------------------------- */

/* Products with fewer multiply-adds than this skip packing altogether. */
#define GEMM_SMALL_WORK 4096
/* Values of p packed per pass over the panels when rows are contiguous
 * (pack_panels_*): 16 rows read side by side are 16 streams, which the
 * prefetcher keeps up with. Packing a 256 x 1024 float block of B (cold),
 * 295-320 -> 280-300 us; a transposed A (X^T of a weight gradient), 510-530
 * -> 330-370 us (8 rows: 450, 32: 400). */
#define PACK_ROWS 16
/* Multiply-adds a thread must get before waking a worker is worth it. */
#define GEMM_WORK_PER_THREAD (1 << 20)

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* The KC actually used: k split into equal blocks of at most kc_max (a
 * multiple of 8), so that k = 784 runs as 200+200+200+184 rather than 3 x 256 + 16,
 * whose short last block would cost a full pass over C. Depends only on k,
 * never on the thread split. */
static int64_t balanced_kc(int64_t k, int64_t kc_max)
{
    int64_t blocks = (k + kc_max - 1) / kc_max;
    return min64(kc_max, round_up((k + blocks - 1) / blocks, 8));
}

/* A strip of C: rows [m0, m1), columns [n0, n1). */
typedef struct gemm_strip {
    int64_t m0, m1, n0, n1;
} gemm_strip;

/* True if C is split into row strips (it has more tiles down than across). */
static bool splits_rows(int64_t m, int64_t n, int mr, int nr)
{
    return (n + nr - 1) / nr < (m + mr - 1) / mr;
}

/* Strip `t` of `threads`: whole micro-tiles of the longer side (in tiles). */
static gemm_strip split_strip(int64_t m, int64_t n, int mr, int nr, int t, int threads)
{
    gemm_strip s = {0, m, 0, n};
    int64_t m_tiles = (m + mr - 1) / mr, n_tiles = (n + nr - 1) / nr;
    if (!splits_rows(m, n, mr, nr)) {
        s.n0 = min64(n, n_tiles * t / threads * nr);
        s.n1 = min64(n, n_tiles * (t + 1) / threads * nr);
    } else {
        s.m0 = min64(m, m_tiles * t / threads * mr);
        s.m1 = min64(m, m_tiles * (t + 1) / threads * mr);
    }
    return s;
}

/* ---- large products: row blocks claimed as threads come free ----------------
 * A static split makes the whole product wait for the slower thread, and on
 * a shared machine one core often runs slower than the other for seconds
 * (bench/RESULTS.md). For products this large, C's rows
 * are cut into blocks of DYNAMIC_ROWS and the work into items (one row
 * block, one KC x NC block of B), claimed in order from one counter: (jc,
 * pc) steps outermost, so that each thread packs each B block at most once,
 * as in the static split. Item (step, block) waits until the same row block
 * has finished the step before (its partial sums are in C): that item was
 * claimed earlier, so it is running or done, and a lone thread (the pool
 * busy) runs the items in order without waiting. Every element of C is still
 * reduced over the same KC blocks in the same order, so results are the same
 * bits whichever thread runs an item. */
#define DYNAMIC_MIN_WORK ((double)(1 << 29))
#define DYNAMIC_ROWS 128
#define DYNAMIC_MAX_BLOCKS 256

typedef struct row_blocks {
    int64_t rows, blocks, k_blocks, items;
    size_t a_bytes, b_bytes;                      /* each thread's packing buffers */
    atomic_int_fast64_t next;                     /* the next item to claim */
    atomic_int_fast64_t done[DYNAMIC_MAX_BLOCKS]; /* steps finished, per row block */
} row_blocks;

/* Waits until a row block's count of finished steps, *done, reaches `step`. */
static void wait_for_step(atomic_int_fast64_t *done, int64_t step)
{
    for (int spins = 1; atomic_load_explicit(done, memory_order_acquire) < step; spins++) {
        if (spins % 1024 == 0) sched_yield();
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
        __builtin_ia32_pause();
#endif
    }
}

/* Sets up `rb` for an m x n x k product; false (keep the static split) when
 * C has too many row blocks, or the caller has no memory for its buffers
 * (it must be able to run every item alone). */
static bool plan_row_blocks(row_blocks *rb, const gemm_blocking *blk, size_t element_bytes, int64_t m, int64_t n,
                            int64_t k)
{
    int64_t rows = round_up(DYNAMIC_ROWS, blk->mr), kc_step = balanced_kc(k, blk->kc);
    int64_t blocks = (m + rows - 1) / rows, kc_max = min64(kc_step, k);
    if (blocks > DYNAMIC_MAX_BLOCKS) return false;
    rb->a_bytes = (size_t)(rows * kc_max) * element_bytes;
    rb->b_bytes = (size_t)(min64(blk->nc, round_up(n, blk->nr)) * kc_max) * element_bytes;
    if (thread_buffers(rb->a_bytes, rb->b_bytes) == NULL) return false;
    rb->rows = rows;
    rb->blocks = blocks;
    rb->k_blocks = (k + kc_step - 1) / kc_step;
    rb->items = (n + blk->nc - 1) / blk->nc * rb->k_blocks * blocks;
    atomic_init(&rb->next, 0);
    for (int64_t i = 0; i < blocks; i++) atomic_init(&rb->done[i], 0);
    return true;
}

/* ---- narrow products (gemm.h), rows split over the pool in whole blocks ---- */

typedef struct narrow_job {
    tg_gemm_narrow_fn *fn;
    const tg_gemm_narrow_args *args;
    int64_t m, rows; /* rows: the kernel's block of rows */
    int threads;
} narrow_job;

/* Rows [m0, m1) of a narrow product, in blocks of `rows`. */
static void narrow_rows(tg_gemm_narrow_fn *fn, const tg_gemm_narrow_args *args, int64_t m0, int64_t m1,
                        int64_t rows)
{
    int64_t i = m0;
    for (; i + rows <= m1; i += rows) fn(args, i, (int)rows);
    /* The last rows 4, 2 and 1 at a time (a lone row's FMAs wait on each other). */
    for (int tail = 4; tail >= 1; tail /= 2)
        if (i + tail <= m1) {
            fn(args, i, tail);
            i += tail;
        }
}

/* This task's share of m rows split in whole blocks of `rows` over `threads`. */
static gemm_strip task_rows(int64_t m, int64_t n, int64_t rows, int64_t task, int threads)
{
    int64_t blocks = (m + rows - 1) / rows;
    gemm_strip s = {min64(m, blocks * task / threads * rows), min64(m, blocks * (task + 1) / threads * rows), 0, n};
    return s;
}

static void narrow_task(void *ctx, int64_t task, int thread_index)
{
    (void)thread_index;
    const narrow_job *job = ctx;
    gemm_strip s = task_rows(job->m, job->args->n, job->rows, task, job->threads);
    narrow_rows(job->fn, job->args, s.m0, s.m1, job->rows);
}

static void gemm_narrow(tg_gemm_narrow_fn *fn, int64_t rows, const tg_gemm_narrow_args *args, int64_t m,
                        double work)
{
    narrow_job job = {fn, args, m, rows, tgi_parallel_threads_for_work(work, GEMM_WORK_PER_THREAD)};
    tgi_parallel_for(job.threads, job.threads, narrow_task, &job);
}

/* ---- small products: the narrow kernels, one block of columns at a time ------
 * A product of less than GEMM_SMALL_PATH_WORK multiply-adds, or one whose
 * transposed B has at most the narrow kernel's columns (a convolution's
 * patches times its filters), does too little work per element of A to pay
 * for packing it: C is computed in blocks of the narrow kernel's columns
 * (cols), each block's rows in the kernel's blocks of rows, reading A and B
 * in place (a transposed B is first copied into k x cols panels, which the
 * kernel reads as an untransposed B). The narrow kernels compute in the
 * packed kernel's arithmetic, so the result is the packed path's bit for
 * bit; rows are split over threads in whole blocks. From 32^3 up, square
 * products ran faster packed (bench/RESULTS.md). */
#define GEMM_SMALL_PATH_WORK ((double)(1 << 14))
/* Batch items of at most this many multiply-adds are shared out whole. */
#define GEMM_BATCH_SMALL_ITEM ((double)(1 << 21))

typedef struct small_job {
    tg_gemm_narrow_fn *fn;
    const tg_gemm_narrow_args *args; /* b: B, or op(B) in panels (panel j at b + j*k, ldb = cols) */
    bool b_in_panels;
    int64_t m, rows, cols;
    size_t element_bytes;
    int threads;
} small_job;

static void small_task(void *ctx, int64_t task, int thread_index)
{
    (void)thread_index;
    const small_job *job = ctx;
    const tg_gemm_narrow_args *g = job->args;
    gemm_strip s = task_rows(job->m, g->n, job->rows, task, job->threads);
    for (int64_t j = 0; j < g->n; j += job->cols) {
        tg_gemm_narrow_args block = *g;
        block.n = min64(job->cols, g->n - j);
        block.b = (const char *)g->b + (size_t)(job->b_in_panels ? j * g->k : j) * job->element_bytes;
        block.c = (char *)g->c + (size_t)j * job->element_bytes;
        narrow_rows(job->fn, &block, s.m0, s.m1, job->rows);
    }
}

static void gemm_small(tg_gemm_narrow_fn *fn, const gemm_kernel *kernel, int64_t cols, size_t element_bytes,
                       const tg_gemm_narrow_args *args, bool b_in_panels, int64_t m, double work)
{
    small_job job = {fn, args, b_in_panels, m, kernel->narrow_rows, cols, element_bytes,
                     tgi_parallel_threads_for_work(work, GEMM_WORK_PER_THREAD)};
    tgi_parallel_for(job.threads, job.threads, small_task, &job);
}

/* ---- the public entry points' argument check ------------------------------ */

/* True if the arguments describe a product that touches only the matrices'
 * own elements; else reports which one is wrong (tapegrad/kernels.h). A and
 * B are checked only when the product reads them (k > 0, alpha != 0). */
static bool gemm_args_valid(const char *function, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                            bool reads_ab, const void *a, int64_t lda, const void *b, int64_t ldb, const void *c,
                            int64_t ldc)
{
    if (m < 0 || n < 0 || k < 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "sizes must not be negative: m = %lld, n = %lld, k = %lld",
                        (long long)m, (long long)n, (long long)k);
        return false;
    }
    if (m == 0 || n == 0) return true;
    if (c == NULL) {
        tg_error_report(TG_ERR_ARGUMENT, function, "C is NULL (m = %lld, n = %lld)", (long long)m, (long long)n);
        return false;
    }
    if (ldc < n) {
        tg_error_report(TG_ERR_ARGUMENT, function, "ldc = %lld is less than n = %lld", (long long)ldc, (long long)n);
        return false;
    }
    if (!reads_ab) return true;
    if (a == NULL || b == NULL) {
        tg_error_report(TG_ERR_ARGUMENT, function, "%s is NULL (m = %lld, n = %lld, k = %lld)", a == NULL ? "A" : "B",
                        (long long)m, (long long)n, (long long)k);
        return false;
    }
    int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k; /* as stored */
    int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
    if (lda < a_cols) {
        tg_error_report(TG_ERR_ARGUMENT, function, "lda = %lld is less than %lld, the length of A's stored rows (A is stored %lld x %lld)",
                        (long long)lda, (long long)a_cols, (long long)a_rows, (long long)a_cols);
        return false;
    }
    if (ldb < b_cols) {
        tg_error_report(TG_ERR_ARGUMENT, function, "ldb = %lld is less than %lld, the length of B's stored rows (B is stored %lld x %lld)",
                        (long long)ldb, (long long)b_cols, (long long)b_rows, (long long)b_cols);
        return false;
    }
    return true;
}

/* ---- the framework, once per element type -------------------------------- */

#define GEMM_DEFINE(T, SFX)                                                                    \
    typedef struct gemm_args_##SFX {                                                           \
        const gemm_blocking *blk;                                                              \
        tg_gemm_micro_##SFX *micro;                                                            \
        tg_gemm_pack_##SFX *pack;                                                              \
        bool trans_a, trans_b;                                                                 \
        int64_t m, n, k;                                                                       \
        T alpha, beta;                                                                         \
        const T *a, *b;                                                                        \
        T *c;                                                                                  \
        int64_t lda, ldb, ldc;                                                                 \
        int threads;                                                                           \
        row_blocks *dynamic; /* NULL: static strips */                                         \
    } gemm_args_##SFX;                                                                         \
                                                                                               \
    /* Packs a kc x width block, element (p, j) at src[p*rs + j*cs], as w-wide \
     * micro-panels (panel j / w at buf + j*kc). When each p's elements are      \
     * contiguous (cs == 1), the k loop runs outside the panel loop, PACK_ROWS    \
     * values of p at a time: one panel takes only w elements of each row, and     \
     * the rows lie ld apart (4 KiB for n = 1024 floats, a page each), where the   \
     * hardware prefetcher does not follow a panel's reads; across all panels, it  \
     * streams along each row. (When cs != 1, a panel reads w contiguous runs.) */ \
    static void pack_panels_##SFX(tg_gemm_pack_##SFX *pack, int64_t kc, int64_t width, int w,    \
                                  const T *src, int64_t rs, int64_t cs, T *buf)                \
    {                                                                                          \
        int64_t p_step = cs == 1 ? PACK_ROWS : kc;                                             \
        for (int64_t p = 0; p < kc; p += p_step)                                               \
            for (int64_t j = 0; j < width; j += w)                                             \
                pack(min64(p_step, kc - p), (int)min64(w, width - j), w, src + p * rs + j * cs, \
                     rs, cs, buf + j * kc + p * w);                                            \
    }                                                                                          \
                                                                                               \
    /* Packs op(A)[i0 : i0+mc, p0 : p0+kc] as mr-row micro-panels. A(i, p) is at   \
     * a[i*lda + p], or a[p*lda + i] when transposed. */                                     \
    static void pack_a_##SFX(const gemm_args_##SFX *g, int64_t i0, int64_t p0, int64_t mc,       \
                             int64_t kc, T *buf)                                               \
    {                                                                                          \
        int64_t rs = g->trans_a ? g->lda : 1, cs = g->trans_a ? 1 : g->lda;                    \
        pack_panels_##SFX(g->pack, kc, mc, g->blk->mr, g->a + p0 * rs + i0 * cs, rs, cs, buf);  \
    }                                                                                          \
                                                                                               \
    /* Packs op(B)[p0 : p0+kc, j0 : j0+nc] as nr-column micro-panels. B(p, j) is at \
     * b[p*ldb + j], or b[j*ldb + p] when transposed. */                                     \
    static void pack_b_##SFX(const gemm_args_##SFX *g, int64_t p0, int64_t j0, int64_t kc,       \
                             int64_t nc, T *buf)                                               \
    {                                                                                          \
        int64_t rs = g->trans_b ? 1 : g->ldb, cs = g->trans_b ? g->ldb : 1;                    \
        pack_panels_##SFX(g->pack, kc, nc, g->blk->nr, g->b + p0 * rs + j0 * cs, rs, cs, buf);  \
    }                                                                                          \
                                                                                               \
    /* The five loops over one strip of C. Returns false if out of memory. */                  \
    static bool gemm_strip_##SFX(const gemm_args_##SFX *g, gemm_strip s)                       \
    {                                                                                          \
        const gemm_blocking *blk = g->blk;                                                     \
        int64_t kc_step = balanced_kc(g->k, blk->kc), kc_max = min64(kc_step, g->k);           \
        int64_t mc_max = min64(blk->mc, round_up(s.m1 - s.m0, blk->mr));                       \
        int64_t nc_max = min64(blk->nc, round_up(s.n1 - s.n0, blk->nr));                       \
        pack_buffers *buffers = thread_buffers((size_t)(mc_max * kc_max) * sizeof(T),          \
                                               (size_t)(nc_max * kc_max) * sizeof(T));         \
        if (buffers == NULL) return false;                                                     \
        T *a_buf = buffers->a, *b_buf = buffers->b;                                            \
        for (int64_t jc = s.n0; jc < s.n1; jc += blk->nc) {                                    \
            int64_t nc = min64(blk->nc, s.n1 - jc);                                            \
            for (int64_t pc = 0; pc < g->k; pc += kc_step) {                                   \
                int64_t kc = min64(kc_step, g->k - pc);                                        \
                T beta = pc == 0 ? g->beta : (T)1;                                             \
                pack_b_##SFX(g, pc, jc, kc, nc, b_buf);                                        \
                for (int64_t ic = s.m0; ic < s.m1; ic += blk->mc) {                            \
                    int64_t mc = min64(blk->mc, s.m1 - ic);                                    \
                    pack_a_##SFX(g, ic, pc, mc, kc, a_buf);                                    \
                    for (int64_t jr = 0; jr < nc; jr += blk->nr) {                             \
                        int n_eff = (int)min64(blk->nr, nc - jr);                              \
                        const T *b_panel = b_buf + jr * kc;                                    \
                        for (int64_t ir = 0; ir < mc; ir += blk->mr) {                         \
                            int m_eff = (int)min64(blk->mr, mc - ir);                          \
                            g->micro(kc, a_buf + ir * kc, b_panel,                             \
                                     g->c + (ic + ir) * g->ldc + jc + jr, g->ldc, m_eff,       \
                                     n_eff, g->alpha, beta);                                   \
                        }                                                                      \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        return true;                                                                           \
    }                                                                                          \
                                                                                               \
    /* No packing, for tiny products and as the fallback when memory runs out. */              \
    static void gemm_direct_##SFX(const gemm_args_##SFX *g, gemm_strip s)                      \
    {                                                                                          \
        for (int64_t i = s.m0; i < s.m1; i++) {                                                \
            T *c_row = g->c + i * g->ldc;                                                      \
            for (int64_t j = s.n0; j < s.n1; j++) {                                            \
                T sum = 0;                                                                     \
                for (int64_t p = 0; p < g->k; p++) {                                           \
                    T a_ip = g->trans_a ? g->a[p * g->lda + i] : g->a[i * g->lda + p];         \
                    T b_pj = g->trans_b ? g->b[j * g->ldb + p] : g->b[p * g->ldb + j];         \
                    sum += a_ip * b_pj;                                                        \
                }                                                                              \
                c_row[j] = g->beta == 0 ? g->alpha * sum : g->alpha * sum + g->beta * c_row[j]; \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    /* Claims and runs items of g->dynamic until none is left (see row_blocks); \
     * a thread without memory for its buffers takes none. */                   \
    static void gemm_items_##SFX(const gemm_args_##SFX *g)                                     \
    {                                                                                          \
        const gemm_blocking *blk = g->blk;                                                     \
        row_blocks *rb = g->dynamic;                                                           \
        int64_t kc_step = balanced_kc(g->k, blk->kc);                                          \
        pack_buffers *buffers = thread_buffers(rb->a_bytes, rb->b_bytes);                      \
        if (buffers == NULL) return;                                                           \
        T *a_buf = buffers->a, *b_buf = buffers->b;                                            \
        int64_t packed_step = -1;                                                              \
        for (;;) {                                                                             \
            int64_t item = atomic_fetch_add(&rb->next, 1);                                     \
            if (item >= rb->items) break;                                                      \
            int64_t step = item / rb->blocks, block = item % rb->blocks;                       \
            int64_t jc = step / rb->k_blocks * blk->nc, pc = step % rb->k_blocks * kc_step;    \
            int64_t nc = min64(blk->nc, g->n - jc), kc = min64(kc_step, g->k - pc);            \
            int64_t ic = block * rb->rows, mc = min64(rb->rows, g->m - ic);                    \
            T beta = pc == 0 ? g->beta : (T)1;                                                 \
            if (step != packed_step) {                                                         \
                pack_b_##SFX(g, pc, jc, kc, nc, b_buf);                                        \
                packed_step = step;                                                            \
            }                                                                                  \
            pack_a_##SFX(g, ic, pc, mc, kc, a_buf);                                            \
            wait_for_step(&rb->done[block], step);                                             \
            for (int64_t jr = 0; jr < nc; jr += blk->nr) {                                     \
                int n_eff = (int)min64(blk->nr, nc - jr);                                      \
                for (int64_t ir = 0; ir < mc; ir += blk->mr)                                   \
                    g->micro(kc, a_buf + ir * kc, b_buf + jr * kc,                             \
                             g->c + (ic + ir) * g->ldc + jc + jr, g->ldc,                      \
                             (int)min64(blk->mr, mc - ir), n_eff, g->alpha, beta);             \
            }                                                                                  \
            atomic_store_explicit(&rb->done[block], step + 1, memory_order_release);           \
        }                                                                                      \
    }                                                                                          \
                                                                                               \
    /* The small path (see gemm_small); false, computing nothing, when a            \
     * transposed B finds no memory for its panels. */                                         \
    static bool small_##SFX(const gemm_kernel *kernel, tg_gemm_narrow_args *args, bool trans_b,  \
                            int64_t m, double work)                                            \
    {                                                                                          \
        int64_t cols = kernel->narrow_cols_##SFX, n = args->n, k = args->k;                    \
        if (trans_b) { /* op(B)[:, j : j+cols] -> k x cols panel at j*k, zero-padded */        \
            pack_buffers *buffers = thread_buffers(0, (size_t)(round_up(n, cols) * k) * sizeof(T)); \
            if (buffers == NULL) return false;                                                 \
            const T *b = args->b;                                                              \
            T *panels = buffers->b;                                                            \
            for (int64_t j = 0; j < n; j += cols)                                              \
                kernel->pack_##SFX(k, (int)min64(cols, n - j), (int)cols, b + j * args->ldb, 1, \
                                   args->ldb, panels + j * k);                                 \
            args->b = panels;                                                                  \
            args->ldb = cols;                                                                  \
        }                                                                                      \
        gemm_small(kernel->narrow_##SFX, kernel, cols, sizeof(T), args, trans_b, m, work);     \
        return true;                                                                           \
    }                                                                                          \
                                                                                               \
    static void gemm_task_##SFX(void *ctx, int64_t task, int thread_index)                     \
    {                                                                                          \
        (void)thread_index;                                                                    \
        const gemm_args_##SFX *g = ctx;                                                        \
        if (g->dynamic != NULL) {                                                              \
            gemm_items_##SFX(g);                                                               \
            return;                                                                            \
        }                                                                                      \
        gemm_strip s = split_strip(g->m, g->n, g->blk->mr, g->blk->nr, (int)task, g->threads); \
        if (s.m0 < s.m1 && s.n0 < s.n1 && !gemm_strip_##SFX(g, s)) gemm_direct_##SFX(g, s);    \
    }                                                                                          \
                                                                                               \
    void tg_gemm_##SFX(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,    \
                       const T *a, int64_t lda, const T *b, int64_t ldb, T beta, T *c,         \
                       int64_t ldc)                                                            \
    {                                                                                          \
        if (!gemm_args_valid("tg_gemm_" #SFX, trans_a, trans_b, m, n, k, k > 0 && alpha != 0, a, lda, b, ldb, c, ldc)) \
            return;                                                                            \
        if (m == 0 || n == 0) return;                                                          \
        if (k <= 0 || alpha == 0) { /* C = beta * C; A and B are not read */                   \
            for (int64_t i = 0; i < m; i++)                                                    \
                for (int64_t j = 0; j < n; j++)                                                \
                    c[i * ldc + j] = beta == 0 ? (T)0 : beta * c[i * ldc + j];                 \
            return;                                                                            \
        }                                                                                      \
        const gemm_kernel *kernel = current_kernel();                                          \
        gemm_args_##SFX g = {&kernel->SFX, kernel->micro_##SFX, kernel->pack_##SFX, trans_a,   \
                             trans_b, m, n, k,                                                 \
                             alpha, beta, a, b, c, lda, ldb, ldc, 1, NULL};                    \
        double work = (double)m * (double)n * (double)k;                                       \
        if (work < GEMM_SMALL_WORK) {                                                          \
            gemm_direct_##SFX(&g, (gemm_strip){0, m, 0, n});                                   \
            return;                                                                            \
        }                                                                                      \
        if (!trans_b && kernel->narrow_##SFX && n <= kernel->narrow_cols_##SFX) {             \
            tg_gemm_narrow_args narrow = {trans_a, n, k, balanced_kc(k, kernel->SFX.kc),        \
                                          alpha, beta, a, b, c, lda, ldb, ldc};                  \
            gemm_narrow(kernel->narrow_##SFX, kernel->narrow_rows, &narrow, m, work);          \
            return;                                                                            \
        }                                                                                      \
        if (kernel->narrow_##SFX && (work < GEMM_SMALL_PATH_WORK || n <= kernel->narrow_cols_##SFX)) { \
            tg_gemm_narrow_args small = {trans_a, n, k, balanced_kc(k, kernel->SFX.kc),          \
                                         alpha, beta, a, b, c, lda, ldb, ldc};                   \
            if (small_##SFX(kernel, &small, trans_b, m, work)) return;                         \
        }                                                                                      \
        g.threads = tgi_parallel_threads_for_work(work, GEMM_WORK_PER_THREAD);                  \
        row_blocks blocks;                                                                     \
        if (g.threads > 1 && work >= DYNAMIC_MIN_WORK &&                                       \
            splits_rows(m, n, g.blk->mr, g.blk->nr) &&                                         \
            plan_row_blocks(&blocks, g.blk, sizeof(T), m, n, k))                               \
            g.dynamic = &blocks;                                                               \
        tgi_parallel_for(g.threads, g.threads, gemm_task_##SFX, &g);                            \
    }

GEMM_DEFINE(float, f32)
GEMM_DEFINE(double, f64)

/* ---- batches of equal products ------------------------------------------------
 * Items small enough for the small path are shared out over the threads in
 * contiguous runs, each item a whole product on one thread (its GEMM call runs
 * nested, so inline); larger items run one after the other, each split over
 * the threads by the GEMM itself. Either way an item is computed exactly as
 * one tg_gemm_* call would compute it, so the batch is the same bits as a loop
 * of calls, whatever the thread count. */

/* True if the batch's strides are usable; else reports which one is wrong. */
static bool batch_args_valid(const char *function, int64_t m, int64_t n, int64_t ldc, int64_t stride_a,
                             int64_t stride_b, int64_t stride_c, int64_t batch)
{
    if (batch < 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "batch = %lld must not be negative", (long long)batch);
        return false;
    }
    if (stride_a < 0 || stride_b < 0) {
        tg_error_report(TG_ERR_ARGUMENT, function, "strides must not be negative: stride_a = %lld, stride_b = %lld",
                        (long long)stride_a, (long long)stride_b);
        return false;
    }
    int64_t c_extent = m > 0 && n > 0 ? (m - 1) * ldc + n : 0; /* elements one C spans */
    if (batch > 1 && stride_c < c_extent) {
        tg_error_report(TG_ERR_ARGUMENT, function,
                        "stride_c = %lld is less than %lld, the span of one C (m = %lld, n = %lld, ldc = %lld): "
                        "the batch's C matrices would overlap",
                        (long long)stride_c, (long long)c_extent, (long long)m, (long long)n, (long long)ldc);
        return false;
    }
    return true;
}

#define GEMM_BATCH_DEFINE(T, SFX)                                                              \
    typedef struct batch_job_##SFX {                                                           \
        bool trans_a, trans_b;                                                                 \
        int64_t m, n, k;                                                                       \
        T alpha, beta;                                                                         \
        const T *a, *b;                                                                        \
        T *c;                                                                                  \
        int64_t lda, ldb, ldc, stride_a, stride_b, stride_c, batch;                            \
        int threads;                                                                           \
    } batch_job_##SFX;                                                                         \
                                                                                               \
    static void batch_items_##SFX(const batch_job_##SFX *j, int64_t first, int64_t end)        \
    {                                                                                          \
        for (int64_t i = first; i < end; i++)                                                  \
            tg_gemm_##SFX(j->trans_a, j->trans_b, j->m, j->n, j->k, j->alpha,                  \
                          j->a + i * j->stride_a, j->lda, j->b + i * j->stride_b, j->ldb,      \
                          j->beta, j->c + i * j->stride_c, j->ldc);                            \
    }                                                                                          \
                                                                                               \
    static void batch_task_##SFX(void *ctx, int64_t task, int thread_index)                    \
    {                                                                                          \
        (void)thread_index;                                                                    \
        const batch_job_##SFX *j = ctx;                                                        \
        batch_items_##SFX(j, j->batch * task / j->threads, j->batch * (task + 1) / j->threads); \
    }                                                                                          \
                                                                                               \
    void tg_gemm_batch_##SFX(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,       \
                             T alpha, const T *a, int64_t lda, int64_t stride_a, const T *b,   \
                             int64_t ldb, int64_t stride_b, T beta, T *c, int64_t ldc,         \
                             int64_t stride_c, int64_t batch)                                  \
    {                                                                                          \
        const char *function = "tg_gemm_batch_" #SFX;                                         \
        if (!batch_args_valid(function, m, n, ldc, stride_a, stride_b, stride_c, batch)) return; \
        if (batch == 0) return;                                                                \
        if (!gemm_args_valid(function, trans_a, trans_b, m, n, k, k > 0 && alpha != 0, a, lda, b, ldb, c, ldc)) \
            return;                                                                            \
        batch_job_##SFX j = {trans_a, trans_b, m, n, k, alpha, beta, a, b, c, lda, ldb, ldc,     \
                             stride_a, stride_b, stride_c, batch, 1};                           \
        double item_work = (double)m * (double)n * (double)k;                                  \
        if (item_work > GEMM_BATCH_SMALL_ITEM || batch == 1) {                                  \
            batch_items_##SFX(&j, 0, batch);                                                   \
            return;                                                                            \
        }                                                                                      \
        j.threads = tgi_parallel_threads_for_work(item_work * (double)batch, GEMM_WORK_PER_THREAD); \
        tgi_parallel_for(j.threads, j.threads, batch_task_##SFX, &j);                           \
    }

GEMM_BATCH_DEFINE(float, f32)
GEMM_BATCH_DEFINE(double, f64)
