//go:build cgo

package chdb

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

// libchdb ships no header; these are the declarations duewise uses, as
// chdb.h of chDB 3.x/26.x declares them.
typedef struct chdb_connection_ { void *internal_data; } *chdb_connection;
typedef struct chdb_result_ { void *internal_data; } chdb_result;
typedef void *chdb_arrow_stream;

static void *dw_lib;
static chdb_connection *(*dw_connect)(int, char **);
static void (*dw_close_conn)(chdb_connection *);
static chdb_result *(*dw_query_n)(chdb_connection, const char *, size_t, const char *, size_t);
static void (*dw_destroy)(chdb_result *);
static char *(*dw_buffer)(chdb_result *);
static size_t (*dw_length)(chdb_result *);
static const char *(*dw_error)(chdb_result *);
static int (*dw_arrow_scan)(chdb_connection, const char *, chdb_arrow_stream);
static int (*dw_arrow_unregister)(chdb_connection, const char *);

// dw_load opens the library at path and resolves the symbols; it returns
// NULL on success or a message.
static const char *dw_load(const char *path) {
	if (dw_lib) return NULL;
	void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
	if (!h) return dlerror();
#define SYM(var, name) *(void **)(&var) = dlsym(h, name); if (!var) return "missing symbol " name;
	SYM(dw_connect, "chdb_connect")
	SYM(dw_close_conn, "chdb_close_conn")
	SYM(dw_query_n, "chdb_query_n")
	SYM(dw_destroy, "chdb_destroy_query_result")
	SYM(dw_buffer, "chdb_result_buffer")
	SYM(dw_length, "chdb_result_length")
	SYM(dw_error, "chdb_result_error")
	SYM(dw_arrow_scan, "chdb_arrow_scan")
	SYM(dw_arrow_unregister, "chdb_arrow_unregister_table")
#undef SYM
	dw_lib = h;
	return NULL;
}

// dw_connect_keep_signals connects while keeping the Go runtime's signal
// handlers: chdb_connect installs its own (for SIGSEGV among others), which
// would turn the Go runtime's nil-dereference panics into process deaths.
static chdb_connection *dw_connect_keep_signals(int argc, char **argv) {
	static struct sigaction saved[NSIG];
	static int had[NSIG];
	for (int s = 1; s < NSIG; s++) had[s] = sigaction(s, NULL, &saved[s]) == 0;
	chdb_connection *c = dw_connect(argc, argv);
	for (int s = 1; s < NSIG; s++) {
		struct sigaction now;
		if (!had[s] || sigaction(s, NULL, &now) != 0) continue;
		if (now.sa_handler != saved[s].sa_handler || now.sa_flags != saved[s].sa_flags)
			sigaction(s, &saved[s], NULL);
	}
	return c;
}

static chdb_result *dw_query(chdb_connection *c, const char *q, size_t qn, const char *f, size_t fn) {
	return dw_query_n(*c, q, qn, f, fn);
}
static void dw_close(chdb_connection *c) { dw_close_conn(c); }

// An ArrowArrayStream as the Arrow C stream interface defines it.
struct dw_stream {
	int (*get_schema)(struct dw_stream *, void *);
	int (*get_next)(struct dw_stream *, void *);
	const char *(*get_last_error)(struct dw_stream *);
	void (*release)(struct dw_stream *);
	void *private_data;
};
static void dw_stream_release(void *p) {
	struct dw_stream *s = p;
	if (s->release) s->release(s);
}
static void dw_result_destroy(chdb_result *r) { dw_destroy(r); }
static char *dw_result_buffer(chdb_result *r) { return dw_buffer(r); }
static size_t dw_result_length(chdb_result *r) { return dw_length(r); }
static const char *dw_result_error(chdb_result *r) { return dw_error(r); }
static int dw_scan(chdb_connection *c, const char *name, void *stream) { return dw_arrow_scan(*c, name, stream); }
static int dw_unregister(chdb_connection *c, const char *name) { return dw_arrow_unregister(*c, name); }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// load dlopens libchdb at path once per process.
func load(path string) error {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	if msg := C.dw_load(cp); msg != nil {
		return fmt.Errorf("load %s: %s", path, C.GoString(msg))
	}
	return nil
}

// conn is one chDB connection. Not safe for concurrent use: Engine
// serialises calls.
type conn struct{ c *C.chdb_connection }

func connect(args []string) (*conn, error) {
	argv := make([]*C.char, len(args))
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	c := C.dw_connect_keep_signals(C.int(len(args)), (**C.char)(unsafe.Pointer(&argv[0])))
	if c == nil {
		return nil, errors.New("chdb_connect returned no connection (is another process using the store?)")
	}
	return &conn{c: c}, nil
}

// query runs sql and returns a copy of the result in the given format.
func (c *conn) query(sql []byte, format string) ([]byte, error) {
	if len(sql) == 0 {
		return nil, errors.New("empty query")
	}
	cq := C.CBytes(sql)
	defer C.free(cq)
	cf := C.CString(format)
	defer C.free(unsafe.Pointer(cf))
	r := C.dw_query(c.c, (*C.char)(cq), C.size_t(len(sql)), cf, C.size_t(len(format)))
	if r == nil {
		return nil, errors.New("chdb_query_n returned no result")
	}
	defer C.dw_result_destroy(r)
	if e := C.dw_result_error(r); e != nil {
		return nil, errors.New(C.GoString(e))
	}
	n := C.dw_result_length(r)
	if n == 0 {
		return nil, nil
	}
	return C.GoBytes(unsafe.Pointer(C.dw_result_buffer(r)), C.int(n)), nil
}

// scan registers the Arrow C stream at stream as table function
// arrowstream(name).
func (c *conn) scan(name string, stream unsafe.Pointer) error {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	if C.dw_scan(c.c, cn, stream) != 0 {
		return fmt.Errorf("register arrow stream %s", name)
	}
	return nil
}

func (c *conn) unregister(name string) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	C.dw_unregister(c.c, cn)
}

func (c *conn) close() { C.dw_close(c.c) }

// allocStream returns zeroed C memory for one ArrowArrayStream.
func allocStream() unsafe.Pointer { return C.calloc(1, C.sizeof_struct_dw_stream) }

// releaseStream releases the stream unless its consumer already did.
func releaseStream(p unsafe.Pointer) { C.dw_stream_release(p) }

func freeC(p unsafe.Pointer) { C.free(p) }
