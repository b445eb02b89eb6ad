/* A C extension module of the tests: grab(n, size) mallocs n blocks of size bytes from C and keeps them
 * until release(). Built by the test against each interpreter's own headers. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

static void *blocks[4096];
static Py_ssize_t block_count;

static PyObject *grab(PyObject *self, PyObject *args) {
    Py_ssize_t n, size;
    if (!PyArg_ParseTuple(args, "nn", &n, &size)) return NULL;
    for (Py_ssize_t i = 0; i < n && block_count < 4096; i++) {
        blocks[block_count] = malloc((size_t)size); /* SITE:ext-malloc */
        memset(blocks[block_count], 1, (size_t)size);
        block_count++;
    }
    return PyLong_FromSsize_t(block_count);
}

static PyObject *release(PyObject *self, PyObject *unused) {
    while (block_count > 0) free(blocks[--block_count]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"grab", grab, METH_VARARGS, "malloc n blocks of size bytes"},
    {"release", release, METH_NOARGS, "free them"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "native_ext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_native_ext(void) { return PyModule_Create(&module); }
