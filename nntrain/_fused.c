/* Fused element-wise kernels for nntrain/optimizers.py.
 *
 * numpy runs Adam's update as ten passes over the parameter vector (each a
 * separate ufunc call reading and writing the whole array) and its float32
 * square root is 4 lanes wide on x86; here the update is one pass, compiled
 * for AVX-512, AVX2 or the baseline and picked at load time.
 *
 * Each kernel performs exactly the float operations of its numpy twin, in the
 * same order and precision, and the module is compiled with -ffp-contract=off
 * (no fused multiply-adds), so both give bitwise equal results: the numpy code
 * stays the reference and the fallback when this module is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
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

/* A C-contiguous float32 ('f') or float64 ('d') buffer of obj; writable if asked. */
static int
get_buffer(PyObject *obj, Py_buffer *view, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        return -1;
    }
    const char *fmt = view->format ? view->format : "B";
    if (fmt[0] == '<' || fmt[0] == '=' || fmt[0] == '@') {
        fmt++;
    }
    if (!(strcmp(fmt, "f") == 0 && view->itemsize == 4) &&
        !(strcmp(fmt, "d") == 0 && view->itemsize == 8)) {
        PyErr_Format(PyExc_TypeError, "%s must hold float32 or float64, not '%s'", name,
                     view->format ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
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
    Py_buffer views[4];
    int got = 0;
    PyObject *result = NULL;
    for (; got < 4; got++) {
        if (get_buffer(objs[got], &views[got], got != 1, names[got]) < 0) {
            goto done;
        }
    }
    for (int i = 1; i < 4; i++) {
        if (views[i].len != views[0].len || views[i].itemsize != views[0].itemsize) {
            PyErr_Format(PyExc_ValueError, "%s differs from p in size or dtype", names[i]);
            goto done;
        }
    }
    Py_ssize_t n = views[0].len / views[0].itemsize;
    Py_BEGIN_ALLOW_THREADS
    if (views[0].itemsize == 4) {
        adam_float32(n, views[0].buf, views[1].buf, views[2].buf, views[3].buf,
                     (float)b1, (float)b2, (float)eps, (float)scale);
    }
    else {
        adam_float64(n, views[0].buf, views[1].buf, views[2].buf, views[3].buf,
                     b1, b2, eps, scale);
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    while (got-- > 0) {
        PyBuffer_Release(&views[got]);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"adam", adam, METH_VARARGS, adam_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "nntrain._fused",
    "Fused element-wise optimizer kernels (see nntrain/_fused.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__fused(void)
{
    return PyModule_Create(&module);
}
