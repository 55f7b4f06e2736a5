// Package registry keeps trained models: the artifact files in a folder
// (by default .duewise/models) and a record of every model and of which
// one is active per tenant and kind in the warehouse table model_registry.
// Earlier models stay for rollback: promoting an older version makes it
// active again.
package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/duewise/duewise/model"
	"github.com/duewise/duewise/warehouse"
)

// Migrations create the registry table. ReplacingMergeTree by (tenant,
// kind, version) with the row version `updated`: the newest row of a model
// says whether it is active.
func Migrations() []warehouse.Migration {
	return []warehouse.Migration{{Component: "registry", Version: 1, Name: "model_registry table", Statements: []string{`
CREATE TABLE IF NOT EXISTS model_registry
(
    tenant String,
    kind String,
    version String,
    file String,
    created_at DateTime,
    data_fingerprint String,
    code_version String,
    metrics String,
    active UInt8,
    updated DateTime,
    seq UInt64
)
ENGINE = ReplacingMergeTree(seq)
ORDER BY (tenant, kind, version)`}},
		{Component: "registry", Version: 2, Name: "model_promotions log", Statements: []string{`
CREATE TABLE IF NOT EXISTS model_promotions
(
    tenant String,
    kind String,
    version String,
    previous String,
    action String,
    at DateTime,
    seq UInt64
)
ENGINE = MergeTree
ORDER BY (tenant, kind, seq)`}}}
}

// Entry is one registered model. A plain value.
type Entry struct {
	Tenant          string    `json:"tenant"`
	Kind            string    `json:"kind"`
	Version         string    `json:"version"`
	File            string    `json:"file"`
	CreatedAt       time.Time `json:"created_at"`
	DataFingerprint string    `json:"data_fingerprint"`
	CodeVersion     string    `json:"code_version"`
	Active          bool      `json:"active"`
	Updated         time.Time `json:"updated"`
}

// Registry is a model folder plus its warehouse record. As safe for
// concurrent use as its engine; promotions of the same tenant and kind
// should not race (the later one wins).
type Registry struct {
	dir string
	eng warehouse.Engine
	now func() time.Time
}

// New returns the registry over dir and eng.
func New(dir string, eng warehouse.Engine) *Registry {
	return &Registry{dir: dir, eng: eng, now: time.Now}
}

// Dir returns the model folder.
func (r *Registry) Dir() string { return r.dir }

// ErrNotFound is returned for an unknown version.
var ErrNotFound = errors.New("model version not found")

// Sync registers every model file in the folder that the warehouse does
// not know yet (e.g. written by `duewise train --out`), for tenant: the
// files of models trained for any tenant or for this one (a model trained
// for another tenant is left to that tenant). A file that fails its
// checksum is skipped here; promoting it reports why.
func (r *Registry) Sync(ctx context.Context, tenant string) error {
	files, err := filepath.Glob(filepath.Join(r.dir, "*.model"))
	if err != nil {
		return fmt.Errorf("sync registry: %w", err)
	}
	known, err := r.List(ctx, tenant)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, e := range known {
		seen[e.Version] = true
	}
	sort.Strings(files)
	for _, f := range files {
		if seen[strings.TrimSuffix(filepath.Base(f), ".model")] {
			continue
		}
		a, err := model.Read(f)
		if err != nil || (a.Tenant != "" && a.Tenant != tenant) {
			continue
		}
		if _, err := r.Add(ctx, tenant, f); err != nil {
			return err
		}
	}
	return nil
}

// Add verifies the artifact file at path, copies it into the folder when
// it is elsewhere, and records it (inactive) for tenant.
func (r *Registry) Add(ctx context.Context, tenant, path string) (Entry, error) {
	a, err := model.Read(path)
	if err != nil {
		return Entry{}, fmt.Errorf("register model: %w", err)
	}
	dst := filepath.Join(r.dir, a.Version+".model")
	if abs1, _ := filepath.Abs(path); abs1 != mustAbs(dst) {
		b, err := os.ReadFile(path)
		if err != nil {
			return Entry{}, fmt.Errorf("register model: %w", err)
		}
		if err := os.MkdirAll(r.dir, 0o755); err != nil {
			return Entry{}, fmt.Errorf("register model: %w", err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return Entry{}, fmt.Errorf("register model: %w", err)
		}
	}
	e := Entry{Tenant: tenant, Kind: string(a.Kind), Version: a.Version, File: filepath.Base(dst), CreatedAt: a.CreatedAt,
		DataFingerprint: a.DataFingerprint, CodeVersion: a.CodeVersion, Updated: r.now().UTC().Truncate(time.Second)}
	return e, r.write(ctx, e)
}

func mustAbs(p string) string {
	a, _ := filepath.Abs(p)
	return a
}

func (r *Registry) write(ctx context.Context, e Entry) error {
	err := r.eng.Exec(ctx, `INSERT INTO model_registry (tenant, kind, version, file, created_at, data_fingerprint, code_version, metrics, active, updated, seq)
SELECT {tenant:String}, {kind:String}, {version:String}, {file:String}, {created:DateTime}, {fp:String}, {code:String}, '', {active:UInt8}, {updated:DateTime}, {seq:UInt64}`,
		warehouse.Params{"tenant": e.Tenant, "kind": e.Kind, "version": e.Version, "file": e.File, "created": e.CreatedAt.UTC().Truncate(time.Second),
			"fp": e.DataFingerprint, "code": e.CodeVersion, "active": b2u(e.Active), "updated": e.Updated, "seq": uint64(r.now().UnixNano())})
	if err != nil {
		return fmt.Errorf("record model %s: %w", e.Version, err)
	}
	return nil
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// List returns tenant's models, newest first.
func (r *Registry) List(ctx context.Context, tenant string) ([]Entry, error) {
	rr, err := r.eng.Query(ctx, `SELECT tenant, kind, version, file, created_at, data_fingerprint, code_version, active, updated
FROM model_registry FINAL WHERE tenant = {tenant:String} ORDER BY created_at DESC, version DESC`, warehouse.Params{"tenant": tenant})
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	defer rr.Release()
	var out []Entry
	var e Entry
	err = warehouse.Scan(rr, func() error { out = append(out, e); return nil },
		&e.Tenant, &e.Kind, &e.Version, &e.File, &e.CreatedAt, &e.DataFingerprint, &e.CodeVersion, &e.Active, &e.Updated)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	return out, nil
}

// Get returns tenant's entry of version.
func (r *Registry) Get(ctx context.Context, tenant, version string) (Entry, error) {
	es, err := r.List(ctx, tenant)
	if err != nil {
		return Entry{}, err
	}
	for _, e := range es {
		if e.Version == version {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("%w: %s (tenant %q)", ErrNotFound, version, tenant)
}

// Load reads and verifies the artifact of an entry.
func (r *Registry) Load(e Entry) (*model.Artifact, error) {
	return model.Read(filepath.Join(r.dir, e.File))
}

// Promote makes version tenant's active model of its kind; the previously
// active one stays registered (inactive) for rollback. The file must pass
// its checksum. Every promotion is recorded in model_promotions.
func (r *Registry) Promote(ctx context.Context, tenant, version string) (Entry, error) {
	e, err := r.Get(ctx, tenant, version)
	if err != nil {
		return Entry{}, err
	}
	return r.promote(ctx, e, ActionPromote)
}

// The actions of a Promotion.
const (
	ActionPromote  = "promote"
	ActionRollback = "rollback"
)

// Promotion is one change of a tenant's active model of a kind. A plain
// value.
type Promotion struct {
	Kind     string    `json:"kind"`
	Version  string    `json:"version"`
	Previous string    `json:"previous"`
	Action   string    `json:"action"`
	At       time.Time `json:"at"`
}

// ErrNoRollback is Rollback's error when no earlier active model of the
// kind is recorded.
var ErrNoRollback = errors.New("no earlier active model recorded")

// Rollback makes the model that was active before the current one of kind
// active again, and records it: promotions stack up, and each rollback
// goes one step down the stack (promote A, promote B, rollback: A;
// rollback again: what was active before A).
func (r *Registry) Rollback(ctx context.Context, tenant, kind string) (Entry, error) {
	hist, err := r.History(ctx, tenant, kind)
	if err != nil {
		return Entry{}, err
	}
	var stack []string
	for _, p := range hist {
		switch p.Action {
		case ActionRollback:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		default:
			if len(stack) == 0 && p.Previous != "" {
				stack = append(stack, p.Previous)
			}
			if len(stack) == 0 || stack[len(stack)-1] != p.Version {
				stack = append(stack, p.Version)
			}
		}
	}
	if len(stack) < 2 {
		return Entry{}, fmt.Errorf("%w for kind %s of tenant %q", ErrNoRollback, kind, tenant)
	}
	e, err := r.Get(ctx, tenant, stack[len(stack)-2])
	if err != nil {
		return Entry{}, err
	}
	return r.promote(ctx, e, ActionRollback)
}

// History returns the promotions of tenant's models of kind, oldest first.
func (r *Registry) History(ctx context.Context, tenant, kind string) ([]Promotion, error) {
	rr, err := r.eng.Query(ctx, `SELECT kind, version, previous, action, at FROM model_promotions
WHERE tenant = {tenant:String} AND kind = {kind:String} ORDER BY seq`, warehouse.Params{"tenant": tenant, "kind": kind})
	if err != nil {
		return nil, fmt.Errorf("model history: %w", err)
	}
	defer rr.Release()
	var out []Promotion
	var p Promotion
	if err := warehouse.Scan(rr, func() error { out = append(out, p); return nil }, &p.Kind, &p.Version, &p.Previous, &p.Action, &p.At); err != nil {
		return nil, fmt.Errorf("model history: %w", err)
	}
	return out, nil
}

// promote makes e active, deactivates the kind's other active model and
// records the change as action.
func (r *Registry) promote(ctx context.Context, e Entry, action string) (Entry, error) {
	if _, err := r.Load(e); err != nil {
		return Entry{}, fmt.Errorf("promote %s: %w", e.Version, err)
	}
	es, err := r.List(ctx, e.Tenant)
	if err != nil {
		return Entry{}, err
	}
	now := r.now().UTC().Truncate(time.Second)
	previous := ""
	for _, o := range es {
		if o.Kind == e.Kind && o.Active && o.Version != e.Version {
			previous = o.Version
			o.Active, o.Updated = false, now
			if err := r.write(ctx, o); err != nil {
				return Entry{}, err
			}
		}
	}
	e.Active, e.Updated = true, now
	if err := r.write(ctx, e); err != nil {
		return Entry{}, err
	}
	err = r.eng.Exec(ctx, `INSERT INTO model_promotions (tenant, kind, version, previous, action, at, seq)
SELECT {tenant:String}, {kind:String}, {version:String}, {previous:String}, {action:String}, {at:DateTime}, {seq:UInt64}`,
		warehouse.Params{"tenant": e.Tenant, "kind": e.Kind, "version": e.Version, "previous": previous, "action": action, "at": now, "seq": uint64(time.Now().UnixNano())})
	if err != nil {
		return Entry{}, fmt.Errorf("record the %s of %s: %w", action, e.Version, err)
	}
	return e, nil
}

// Active returns tenant's active entries, one per kind.
func (r *Registry) Active(ctx context.Context, tenant string) ([]Entry, error) {
	es, err := r.List(ctx, tenant)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range es {
		if e.Active {
			out = append(out, e)
		}
	}
	return out, nil
}

// Tenants lists the tenants with an active model.
func (r *Registry) Tenants(ctx context.Context) ([]string, error) {
	out, err := warehouse.Strings(ctx, r.eng, `SELECT DISTINCT tenant FROM model_registry FINAL WHERE active = 1 ORDER BY tenant`, nil)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}
