package api

// Procs returns the GOMAXPROCS a server should run with on cpus CPUs:
// two Go processors per CPU. The embedded warehouse runs in the server's
// process, and with one processor per CPU a request waits for one behind
// the goroutines that hold them: a cgo call into chDB (an insert of
// posted events, of refreshed features, of the change feed) keeps its
// processor until the runtime's monitor takes it back, and a running
// goroutine (a refresh batch, a post being parsed) is preempted only
// after 10 ms. On the 2-core build machine, with 1,000 event rows/s
// posted beside 2,000 GETs/s (BenchmarkEventsToScores, 1,000,000
// customers), the scheduler's latency was p99 10.5-12.6 ms and GET p99
// 58-82 ms at GOMAXPROCS 2; at 4, 1.3 ms and 15.5 ms; at 8, 0.9 ms and
// 12.4 ms with a longer tail (p99.9 58 ms against 41): more processors
// than cores let the kernel share the cores among the threads in slices
// of a few milliseconds (docs/benchmarks.md, "Events to scores").
func Procs(cpus int) int { return 2 * max(cpus, 1) }
