package warehouse

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Migration is one versioned schema change of one component (a package
// that owns tables, such as "datasets" or "features"). Statements run in
// order and should be idempotent where the SQL allows it (CREATE TABLE IF
// NOT EXISTS), so a migration interrupted half-way can be run again;
// ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, so keep an ALTER alone in
// its migration.
type Migration struct {
	Component  string
	Version    int
	Name       string
	Statements []string
	// Run, when set, runs after Statements: a step that depends on what
	// the warehouse holds (a table rebuilt only when it still has its old
	// form). Like every statement, it must be safe to run again after a
	// crash part-way.
	Run func(ctx context.Context, e Engine) error
}

// MigrationsTable records the applied migrations.
const MigrationsTable = "duewise_migrations"

const createMigrations = "CREATE TABLE IF NOT EXISTS " + MigrationsTable +
	" (component String, version UInt32, name String, applied_at DateTime('UTC'))" +
	" ENGINE = ReplacingMergeTree ORDER BY (component, version)"

// Applied returns the applied migration versions per component.
func Applied(ctx context.Context, e Engine) (map[string][]int, error) {
	if err := e.Exec(ctx, createMigrations, nil); err != nil {
		return nil, fmt.Errorf("create %s: %w", MigrationsTable, err)
	}
	rr, err := e.Query(ctx, "SELECT component, toUInt32(version) AS version FROM "+MigrationsTable+" FINAL ORDER BY component, version", nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", MigrationsTable, err)
	}
	defer rr.Release()
	out := map[string][]int{}
	var comp string
	var ver int
	if err := Scan(rr, func() error { out[comp] = append(out[comp], ver); return nil }, &comp, &ver); err != nil {
		return nil, fmt.Errorf("read %s: %w", MigrationsTable, err)
	}
	return out, nil
}

// Migrate applies the migrations not yet recorded in MigrationsTable, in
// (component, version) order, and records each. It is idempotent; running
// it concurrently from two processes is safe because every statement is.
// It returns the migrations it applied.
func Migrate(ctx context.Context, e Engine, ms []Migration) ([]Migration, error) {
	applied, err := Applied(ctx, e)
	if err != nil {
		return nil, err
	}
	ms = slices.Clone(ms)
	slices.SortStableFunc(ms, func(a, b Migration) int {
		if a.Component != b.Component {
			if a.Component < b.Component {
				return -1
			}
			return 1
		}
		return a.Version - b.Version
	})
	var done []Migration
	for _, m := range ms {
		if slices.Contains(applied[m.Component], m.Version) {
			continue
		}
		for i, s := range m.Statements {
			if err := e.Exec(ctx, s, nil); err != nil {
				return done, fmt.Errorf("migrate %s %d (%s), statement %d: %w", m.Component, m.Version, m.Name, i+1, err)
			}
		}
		if m.Run != nil {
			if err := m.Run(ctx, e); err != nil {
				return done, fmt.Errorf("migrate %s %d (%s): %w", m.Component, m.Version, m.Name, err)
			}
		}
		err := e.Exec(ctx, "INSERT INTO "+MigrationsTable+" (component, version, name, applied_at) SELECT {c:String}, {v:UInt32}, {n:String}, {t:DateTime}",
			Params{"c": m.Component, "v": m.Version, "n": m.Name, "t": time.Now()})
		if err != nil {
			return done, fmt.Errorf("record migration %s %d: %w", m.Component, m.Version, err)
		}
		done = append(done, m)
	}
	return done, nil
}
