/* Fused element-wise kernels for nntrain/optimizers.py (Adam) and
 * nntrain/activations.py (ReLU), and a prefetching row gather for the
 * mini-batches of nntrain/train.py; nntrain/kernels.py says when the
 * element-wise ones can be used.
 *
 * numpy runs Adam's update as ten passes over the parameter vector (each a
 * separate ufunc call reading and writing the whole array) and its float32
 * square root is 4 lanes wide on x86; here the update is one pass, compiled
 * for AVX-512, AVX2 or the baseline and picked at load time (GCC on x86-64
 * with glibc; elsewhere the baseline loop). ReLU's bias-add-and-clip
 * and its backward mask are one pass each instead of two numpy calls.
 *
 * Each element-wise kernel performs exactly the float operations of its numpy
 * twin, in the same order and precision, and the module is compiled with
 * -ffp-contract=off (no fused multiply-adds), so both give bitwise equal
 * results (tests/test_fused.py), except for the sign and payload of a NaN made
 * from two NaNs (the compiler may swap the operands of a sum; only a diverged
 * run has them). The numpy code stays the reference, and the fallback when this
 * module is not built. The kernels set no floating-point error flags: nntrain
 * checks results with isfinite, not numpy warnings.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict /* C89-mode MSVC spells C99's restrict this way */
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
#define MULTIVERSIONED __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MULTIVERSIONED
#endif

/* Adam on the decayed sums S and Q (see optimizers.Adam), per element:
 *   S <- S b1 + g;  Q <- Q b2 + g g;  p <- p - (S / (sqrt(Q) + eps)) scale   */
#define ADAM_KERNEL(NAME, T, SQRT)                                                  \
    MULTIVERSIONED static void NAME(Py_ssize_t n, T *restrict p, const T *restrict g, \
                                    T *restrict S, T *restrict Q, T b1, T b2, T eps,  \
                                    T scale)                                          \
    {                                                                                 \
        for (Py_ssize_t i = 0; i < n; i++) {                                          \
            T s = S[i] * b1;                                                          \
            s = s + g[i];                                                             \
            T q = Q[i] * b2;                                                          \
            T gg = g[i] * g[i];                                                       \
            q = q + gg;                                                               \
            S[i] = s;                                                                 \
            Q[i] = q;                                                                 \
            T step = SQRT(q);                                                         \
            step = step + eps;                                                        \
            step = s / step;                                                          \
            step = step * scale;                                                      \
            p[i] = p[i] - step;                                                       \
        }                                                                             \
    }

ADAM_KERNEL(adam_float32, float, sqrtf)
ADAM_KERNEL(adam_float64, double, sqrt)

/* ReLU on a layer's pre-activation, bias added first, in place; z (m, n), b (n,):
 *   z <- max(z + b, 0)   (NaN stays NaN and -0 becomes +0, as numpy's maximum does) */
#define BIAS_RELU_KERNEL(NAME, T)                                                   \
    MULTIVERSIONED static void NAME(Py_ssize_t m, Py_ssize_t n, T *restrict z,       \
                                    const T *restrict b)                             \
    {                                                                                 \
        for (Py_ssize_t r = 0; r < m; r++, z += n) {                                  \
            for (Py_ssize_t j = 0; j < n; j++) {                                      \
                T v = z[j] + b[j];                                                    \
                z[j] = (v > 0 || v != v) ? v : (T)0;                                  \
            }                                                                         \
        }                                                                             \
    }

BIAS_RELU_KERNEL(bias_relu_float32, float)
BIAS_RELU_KERNEL(bias_relu_float64, double)

/* ReLU's backward pass, in place: g <- g * (a > 0), numpy's `g *= a > 0`. */
#define RELU_BACKWARD_KERNEL(NAME, T)                                               \
    MULTIVERSIONED static void NAME(Py_ssize_t n, T *restrict g, const T *restrict a) \
    {                                                                                 \
        for (Py_ssize_t i = 0; i < n; i++) {                                          \
            g[i] = g[i] * (T)(a[i] > 0);                                              \
        }                                                                             \
    }

RELU_BACKWARD_KERNEL(relu_backward_float32, float)
RELU_BACKWARD_KERNEL(relu_backward_float64, double)

#if defined(__GNUC__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)0)
#endif

/* Rows idx[0..k) of src (m rows of `row_bytes` bytes) into out, one after another.
 * Rows come from anywhere in a large array, so each is a cache miss to memory:
 * prefetching a few rows ahead keeps several misses in flight. Each index is
 * checked as it is read (the caller may share idx with other threads); returns
 * the position of the first one out of range, or -1 when all rows were copied.
 * (The first rows are not prefetched: with a separate loop for them, GCC 12
 * dropped every prefetch instruction, and the gather ran at numpy's speed.) */
static inline void
prefetch_row(const char *src, Py_ssize_t m, Py_ssize_t row, Py_ssize_t row_bytes)
{
    if ((size_t)row < (size_t)m) {
        for (Py_ssize_t off = 0; off < row_bytes; off += 64) {
            PREFETCH(src + row * row_bytes + off);
        }
    }
}

static Py_ssize_t
gather(Py_ssize_t k, Py_ssize_t m, Py_ssize_t row_bytes, const char *src,
       const Py_ssize_t *idx, char *out)
{
    const Py_ssize_t ahead = 4;
    for (Py_ssize_t r = 0; r < k; r++) {
        if (r + ahead < k) {
            prefetch_row(src, m, idx[r + ahead], row_bytes);
        }
        Py_ssize_t row = idx[r];
        if ((size_t)row >= (size_t)m) {
            return r;
        }
        memcpy(out + r * row_bytes, src + row * row_bytes, row_bytes);
    }
    return -1;
}

/* The one-letter struct code of a buffer format holding one item in native byte
 * order ("f", "@f", "=f", or "<f" on a little-endian machine), else 0. */
static char
native_code(const char *fmt)
{
    if (fmt == NULL) {
        return 'B';
    }
    if (fmt[0] == '@' || fmt[0] == '=' || fmt[0] == (PY_LITTLE_ENDIAN ? '<' : '>')) {
        fmt++;
    }
    return (fmt[0] != '\0' && fmt[1] == '\0') ? fmt[0] : 0;
}

/* A C-contiguous float32 ('f') or float64 ('d') buffer of obj; writable if asked. */
static int
get_buffer(PyObject *obj, Py_buffer *view, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        return -1;
    }
    char code = native_code(view->format);
    if (!(code == 'f' && view->itemsize == 4) && !(code == 'd' && view->itemsize == 8)) {
        PyErr_Format(PyExc_TypeError, "%s must hold native float32 or float64, not '%s'", name,
                     view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static void
release_buffers(int k, Py_buffer *views)
{
    for (int i = 0; i < k; i++) {
        PyBuffer_Release(&views[i]);
    }
}

/* Take the buffers of objs[0..k) (objs[i] writable where writable[i]): one float dtype,
 * the caller checks sizes. On failure, releases what it took and returns -1. */
static int
get_buffers(int k, PyObject **objs, const int *writable, const char **names, Py_buffer *views)
{
    for (int i = 0; i < k; i++) {
        if (get_buffer(objs[i], &views[i], writable[i], names[i]) < 0) {
            release_buffers(i, views);
            return -1;
        }
    }
    for (int i = 1; i < k; i++) {
        if (views[i].itemsize != views[0].itemsize) {
            PyErr_Format(PyExc_ValueError, "%s differs from %s in dtype", names[i], names[0]);
            release_buffers(k, views);
            return -1;
        }
    }
    return 0;
}

PyDoc_STRVAR(adam_doc,
"adam(p, g, S, Q, beta1, beta2, eps, scale)\n"
"\n"
"In place, per element: S = S*beta1 + g; Q = Q*beta2 + g*g;\n"
"p = p - (S / (sqrt(Q) + eps)) * scale. Four C-contiguous arrays of one dtype\n"
"(float32 or float64) and one size; the scalars are rounded to that dtype.");

static PyObject *
adam(PyObject *self, PyObject *args)
{
    PyObject *objs[4];
    double b1, b2, eps, scale;
    if (!PyArg_ParseTuple(args, "OOOOdddd:adam", &objs[0], &objs[1], &objs[2], &objs[3],
                          &b1, &b2, &eps, &scale)) {
        return NULL;
    }
    static const char *names[4] = {"p", "g", "S", "Q"};
    static const int writable[4] = {1, 0, 1, 1};
    Py_buffer v[4];
    if (get_buffers(4, objs, writable, names, v) < 0) {
        return NULL;
    }
    for (int i = 1; i < 4; i++) {
        if (v[i].len != v[0].len) {
            PyErr_Format(PyExc_ValueError, "%s differs from p in size", names[i]);
            release_buffers(4, v);
            return NULL;
        }
    }
    Py_ssize_t n = v[0].len / v[0].itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (v[0].itemsize == 4) {
        adam_float32(n, v[0].buf, v[1].buf, v[2].buf, v[3].buf, (float)b1, (float)b2,
                     (float)eps, (float)scale);
    }
    else {
        adam_float64(n, v[0].buf, v[1].buf, v[2].buf, v[3].buf, b1, b2, eps, scale);
    }
    Py_END_ALLOW_THREADS
    release_buffers(4, v);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(bias_relu_doc,
"bias_relu(z, b)\n"
"\n"
"In place: z = maximum(z + b, 0), z C-contiguous with rows of len(b), b of z's dtype.");

static PyObject *
bias_relu(PyObject *self, PyObject *args)
{
    PyObject *objs[2];
    if (!PyArg_ParseTuple(args, "OO:bias_relu", &objs[0], &objs[1])) {
        return NULL;
    }
    static const char *names[2] = {"z", "b"};
    static const int writable[2] = {1, 0};
    Py_buffer v[2];
    if (get_buffers(2, objs, writable, names, v) < 0) {
        return NULL;
    }
    Py_ssize_t n = v[1].len / v[1].itemsize, size = v[0].len / v[0].itemsize;
    if (v[0].ndim != 2 || v[0].shape[1] != n) {
        PyErr_SetString(PyExc_ValueError, "z must be 2-d with rows of len(b)");
        release_buffers(2, v);
        return NULL;
    }
    Py_ssize_t m = n ? size / n : 0;
    Py_BEGIN_ALLOW_THREADS
    if (v[0].itemsize == 4) {
        bias_relu_float32(m, n, v[0].buf, v[1].buf);
    }
    else {
        bias_relu_float64(m, n, v[0].buf, v[1].buf);
    }
    Py_END_ALLOW_THREADS
    release_buffers(2, v);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(relu_backward_doc,
"relu_backward(g, a)\n"
"\n"
"In place: g = g * (a > 0), two C-contiguous arrays of one dtype and size.");

static PyObject *
relu_backward(PyObject *self, PyObject *args)
{
    PyObject *objs[2];
    if (!PyArg_ParseTuple(args, "OO:relu_backward", &objs[0], &objs[1])) {
        return NULL;
    }
    static const char *names[2] = {"g", "a"};
    static const int writable[2] = {1, 0};
    Py_buffer v[2];
    if (get_buffers(2, objs, writable, names, v) < 0) {
        return NULL;
    }
    if (v[1].len != v[0].len) {
        PyErr_SetString(PyExc_ValueError, "a differs from g in size");
        release_buffers(2, v);
        return NULL;
    }
    Py_ssize_t n = v[0].len / v[0].itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (v[0].itemsize == 4) {
        relu_backward_float32(n, v[0].buf, v[1].buf);
    }
    else {
        relu_backward_float64(n, v[0].buf, v[1].buf);
    }
    Py_END_ALLOW_THREADS
    release_buffers(2, v);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(gather_rows_doc,
"gather_rows(src, idx, out)\n"
"\n"
"out[i] = src[idx[i]] for every i: src and out C-contiguous 2-d arrays of one dtype\n"
"and row length, idx a C-contiguous array of intp row numbers, each in range.");

static PyObject *
gather_rows(PyObject *self, PyObject *args)
{
    PyObject *src_obj, *idx_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OOO:gather_rows", &src_obj, &idx_obj, &out_obj)) {
        return NULL;
    }
    Py_buffer src, idx, out;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
    if (PyObject_GetBuffer(src_obj, &src, flags) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(idx_obj, &idx, flags) < 0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    if (PyObject_GetBuffer(out_obj, &out, flags | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&src);
        PyBuffer_Release(&idx);
        return NULL;
    }
    PyObject *result = NULL;
    const char *err = NULL;
    char code = native_code(src.format), idx_code = native_code(idx.format);
    if (src.ndim != 2 || out.ndim != 2) {
        err = "src and out must be 2-d";
    }
    else if (code == 0 || strchr("?bBhHiIlLqQnNefd", code) == NULL) {
        err = "src must hold native numbers (bool, integers or floats)";
    }
    else if (native_code(out.format) != code || src.itemsize != out.itemsize ||
             src.shape[1] != out.shape[1]) {
        err = "src and out differ in dtype or row length";
    }
    else if (idx.ndim != 1 || idx.itemsize != sizeof(Py_ssize_t) || idx_code == 0 ||
             strchr("lqn", idx_code) == NULL) {
        err = "idx must be a 1-d native intp array";
    }
    else if (idx.shape[0] != out.shape[0]) {
        err = "out must have one row per index";
    }
    if (err) {
        PyErr_SetString(PyExc_ValueError, err);
        goto done;
    }
    const Py_ssize_t *rows = idx.buf;
    Py_ssize_t k = idx.shape[0], m = src.shape[0], bad;
    Py_BEGIN_ALLOW_THREADS
    bad = gather(k, m, src.shape[1] * src.itemsize, src.buf, rows, out.buf);
    Py_END_ALLOW_THREADS
    if (bad >= 0) {
        PyErr_Format(PyExc_IndexError, "row %zd is out of range for %zd rows", rows[bad], m);
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&idx);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"gather_rows", gather_rows, METH_VARARGS, gather_rows_doc},
    {"adam", adam, METH_VARARGS, adam_doc},
    {"bias_relu", bias_relu, METH_VARARGS, bias_relu_doc},
    {"relu_backward", relu_backward, METH_VARARGS, relu_backward_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "nntrain.kernels._fused",
    "Fused element-wise kernels for the optimizers and activations (see nntrain/_fused.c).", -1, methods,
};

/* The interface version: bump it, and kernels.FUSED_VERSION with it, whenever a
 * kernel's signature or behaviour changes, so that an editable install still
 * holding another build falls back to numpy instead of calling it wrongly. */
#define FUSED_VERSION 1

PyMODINIT_FUNC
PyInit__fused(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "VERSION", FUSED_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
