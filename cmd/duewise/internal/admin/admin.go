// Package admin lets duewise commands use an embedded store while
// `duewise serve` holds it. chDB allows one process per store, so the
// server runs those commands for them: it listens on a loopback address
// for admin requests and writes that address, with a random token, into
// the store folder (serve.json, readable by its owner only). A command
// that finds a live server there sends its arguments to it; the server
// runs the command in-process on its own engine and streams the output
// back, and the command exits with the server's exit code.
//
// Requests are authenticated by the token (compared in constant time);
// the admin listener is never the public API listener.
package admin

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// StateFile is the name of the file a server writes into its store folder.
const StateFile = "serve.json"

// State describes a running server; it is the content of StateFile.
type State struct {
	PID     int       `json:"pid"`
	API     string    `json:"api"`
	Admin   string    `json:"admin"`
	Token   string    `json:"token"`
	Started time.Time `json:"started_at"`
}

// Exec runs a duewise command line (args without the program name) in the
// server process, writing to stdout and stderr, and returns its exit code.
type Exec func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// Config configures a Server.
type Config struct {
	// Dir is the store folder the state file is written into.
	Dir string
	// API is the address of the server's public API (for messages).
	API string
	// Exec runs forwarded commands.
	Exec Exec
	Log  *slog.Logger
}

// Server is the admin endpoint of a running `duewise serve`. Safe for
// concurrent use.
type Server struct {
	cfg   Config
	state State
	path  string
	ln    net.Listener
	srv   *http.Server
	done  chan struct{}
}

// Start listens on a loopback port, writes the state file and serves
// admin requests until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Exec == nil || cfg.Dir == "" {
		return nil, errors.New("admin: Dir and Exec are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	var tok [32]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("admin: listen: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, path: filepath.Join(cfg.Dir, StateFile), done: make(chan struct{}),
		state: State{PID: os.Getpid(), API: cfg.API, Admin: ln.Addr().String(), Token: hex.EncodeToString(tok[:]), Started: time.Now().UTC().Truncate(time.Second)}}
	if err := s.writeState(); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", s.auth(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }))
	mux.HandleFunc("POST /exec", s.auth(s.exec))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Log.Error("admin endpoint stopped", "err", err)
		}
	}()
	return s, nil
}

// writeState writes the state file atomically, readable by its owner only.
func (s *Server) writeState() error {
	b, _ := json.MarshalIndent(s.state, "", "  ")
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("admin: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("admin: write %s: %w", s.path, err)
	}
	return nil
}

// State returns what the state file says.
func (s *Server) State() State { return s.state }

// Close stops accepting admin requests, waits up to ctx for running
// commands to finish, and removes the state file (when it is still ours).
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	if st, rerr := readState(s.path); rerr == nil && st.Token == s.state.Token {
		os.Remove(s.path)
	}
	return err
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+s.state.Token)) != 1 {
			http.Error(w, "bad admin token", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

// Request is the body of POST /exec.
type Request struct {
	Args []string `json:"args"`
}

// frame is one line of the answer of POST /exec.
type frame struct {
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	Exit   *int   `json:"exit,omitempty"`
}

// frameWriter sends what a command writes as frames, flushed at once.
type frameWriter struct {
	mu  *sync.Mutex
	enc *json.Encoder
	fl  http.Flusher
}

type stream struct {
	fw  *frameWriter
	err bool
}

func (s stream) Write(p []byte) (int, error) {
	s.fw.mu.Lock()
	defer s.fw.mu.Unlock()
	f := frame{Stdout: string(p)}
	if s.err {
		f = frame{Stderr: string(p)}
	}
	if err := s.fw.enc.Encode(f); err != nil {
		return 0, err
	}
	if s.fw.fl != nil {
		s.fw.fl.Flush()
	}
	return len(p), nil
}

func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	var req Request
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	fl, _ := w.(http.Flusher)
	fw := &frameWriter{mu: &sync.Mutex{}, enc: json.NewEncoder(w), fl: fl}
	s.cfg.Log.Info("admin command", "args", redact(req.Args))
	start := time.Now()
	code := s.cfg.Exec(r.Context(), req.Args, stream{fw: fw}, stream{fw: fw, err: true})
	s.cfg.Log.Info("admin command done", "exit", code, "seconds", time.Since(start).Seconds())
	fw.mu.Lock()
	fw.enc.Encode(frame{Exit: &code})
	fw.mu.Unlock()
}

// redact keeps the command words of args for logs: flags' values and
// arguments (SQL, file names, tenants) stay out of the log.
func redact(args []string) []string {
	var out []string
	for _, a := range args {
		if len(a) > 0 && a[0] == '-' {
			break
		}
		out = append(out, a)
	}
	return out
}

// ErrNoServer means no live server holds the store.
var ErrNoServer = errors.New("no duewise server is running on this store")

// readState reads a state file.
func readState(path string) (State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return State{}, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// Find returns the State of the live server of store folder dir. It
// returns ErrNoServer when there is no state file or its process is gone,
// and another error (naming the file) when a server seems to run but
// cannot be used: its file is unreadable (another user's server) or its
// admin endpoint does not answer.
func Find(ctx context.Context, dir string) (State, error) {
	path := filepath.Join(dir, StateFile)
	st, err := readState(path)
	if errors.Is(err, os.ErrNotExist) {
		return State{}, ErrNoServer
	}
	if err != nil {
		return State{}, fmt.Errorf("read the server state %s: %w (run this command as the user who runs duewise serve)", path, err)
	}
	if !alive(st.PID) {
		return State{}, ErrNoServer
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+st.Admin+"/ping", nil)
	req.Header.Set("Authorization", "Bearer "+st.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("duewise serve (pid %d) holds the store but its admin endpoint %s does not answer: %w", st.PID, st.Admin, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("duewise serve (pid %d) holds the store but refused the admin token of %s: %s", st.PID, path, resp.Status)
	}
	return st, nil
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Run sends args to the server of st, copies its output to stdout and
// stderr as it comes, and returns the command's exit code.
func Run(ctx context.Context, st State, args []string, stdout, stderr io.Writer) (int, error) {
	body, _ := json.Marshal(Request{Args: args})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+st.Admin+"/exec", bytes.NewReader(body))
	if err != nil {
		return 1, err
	}
	req.Header.Set("Authorization", "Bearer "+st.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 1, fmt.Errorf("run through duewise serve (pid %d): %w", st.PID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 1, fmt.Errorf("run through duewise serve (pid %d): %s: %s", st.PID, resp.Status, b)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var f frame
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return 1, fmt.Errorf("run through duewise serve: bad answer: %w", err)
		}
		switch {
		case f.Exit != nil:
			return *f.Exit, nil
		case f.Stderr != "":
			io.WriteString(stderr, f.Stderr)
		default:
			io.WriteString(stdout, f.Stdout)
		}
	}
	if err := sc.Err(); err != nil {
		return 1, fmt.Errorf("run through duewise serve: %w", err)
	}
	return 1, fmt.Errorf("run through duewise serve (pid %d): the server ended the command without an exit code (did it stop?)", st.PID)
}
