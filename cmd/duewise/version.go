package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

// The build's identity, set by the Makefile:
//
//	go build -ldflags "-X main.version=... -X main.commit=... -X main.buildDate=..."
//
// A plain `go build` or `go install` leaves them empty; buildInfo then
// reads what the Go toolchain stamped into the binary (the module version
// and the VCS revision).
var (
	version   string
	commit    string
	buildDate string
)

// build describes the running binary. A plain value.
type build struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified,omitempty"` // built from a work tree with uncommitted changes
	CommitAt  string `json:"commit_date,omitempty"`
	BuildDate string `json:"build_date"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// buildInfo returns the link-time values, completed from the toolchain's
// build information.
func buildInfo() build {
	b := build{Version: version, Commit: commit, BuildDate: buildDate, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				b.CommitAt = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// codeVersion is what a trained model records as the code that trained it.
func (b build) codeVersion() string {
	if b.Commit == "" || b.Version == b.Commit || len(b.Commit) < 12 {
		return b.Version
	}
	return b.Version + " (" + b.Commit[:12] + ")"
}

// registerBuildInfo adds duewise_build_info{version, revision, goversion} 1
// to reg.
func registerBuildInfo(reg prometheus.Registerer, b build) error {
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "duewise_build_info",
		Help:        "A metric with a constant '1' value labelled by the version, VCS revision and Go version duewise was built with.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Commit, "goversion": b.GoVersion},
	}, func() float64 { return 1 }))
}

func newVersionCmd(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "version [--format text|json]",
		Short: "Print the version, commit, Go version and build date of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := buildInfo()
			w := cmd.OutOrStdout()
			switch format {
			case "json":
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(b)
			case "text":
			default:
				return fmt.Errorf("--format %q: want text or json", format)
			}
			orUnknown := func(s string) string {
				if s == "" {
					return "unknown"
				}
				return s
			}
			modified := ""
			if b.Modified {
				modified = " (with uncommitted changes)"
			}
			fmt.Fprintf(w, "duewise %s\ncommit      %s%s\n", b.Version, orUnknown(b.Commit), modified)
			if b.CommitAt != "" {
				fmt.Fprintf(w, "commit date %s\n", b.CommitAt)
			}
			fmt.Fprintf(w, "build date  %s\ngo          %s\nplatform    %s\n", orUnknown(b.BuildDate), b.GoVersion, b.Platform)
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output: text or json")
	return c
}
