package adopt

import (
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/vitrine-dev/vitrine/postgres"
)

// adoptCovers is the last goose version whose end state `migrate adopt` builds itself; it
// records versions up to it as applied and lets goose apply the later ones.
const adoptCovers = 3

// migrationStatements splits the Up section of a goose migration into its statements, as goose
// does: a block between StatementBegin and StatementEnd is one statement; elsewhere a statement
// ends at a line ending with a semicolon. Comment lines outside blocks are dropped.
func migrationStatements(src string) []string {
	var (
		out     []string
		cur     strings.Builder
		inUp    bool
		inBlock bool
	)
	for line := range strings.Lines(src) {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "-- +goose Up"):
			inUp = true
			continue
		case strings.HasPrefix(t, "-- +goose Down"):
			inUp = false
			continue
		case !inUp:
			continue
		case strings.HasPrefix(t, "-- +goose StatementBegin"):
			inBlock = true
			continue
		case strings.HasPrefix(t, "-- +goose StatementEnd"):
			inBlock = false
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		if !inBlock && (t == "" || strings.HasPrefix(t, "--")) {
			continue
		}
		cur.WriteString(line)
		if !inBlock && strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	return out
}

// replayKind says what adopt does with one statement of a covered migration.
type replayKind int

const (
	replaySkip    replayKind = iota // tables, columns and indexes: adopt's own steps build them
	replayRun                       // idempotent as written: DO blocks, GRANT, REVOKE, SELECT
	replayReplace                   // CREATE FUNCTION/VIEW/TRIGGER, run as CREATE OR REPLACE
	replayPolicy                    // CREATE POLICY, run when no policy of that name exists
	replayLocking                   // ALTER TABLE ... ROW LEVEL SECURITY: brief lock, bounded wait
)

// replayStatement is one statement of a covered migration and what to do with it.
type replayStatement struct {
	kind   replayKind
	sql    string
	policy [2]string // table, name (replayPolicy)
}

var (
	createPolicyRe = regexp.MustCompile(`^CREATE POLICY (\w+) ON (\w+)`)
	rlsRe          = regexp.MustCompile(`^ALTER TABLE \w+ (ENABLE|FORCE) ROW LEVEL SECURITY;$`)
)

// classify decides what adopt does with stmt; an unknown kind of statement is an error, so a
// covered migration cannot gain a statement that adopt silently ignores.
func classify(stmt string) (replayStatement, error) {
	s := replayStatement{sql: stmt}
	switch {
	case strings.HasPrefix(stmt, "CREATE TABLE"), strings.HasPrefix(stmt, "CREATE INDEX"),
		strings.HasPrefix(stmt, "ALTER TABLE") && strings.Contains(stmt, "ADD COLUMN"):
		s.kind = replaySkip
	case strings.HasPrefix(stmt, "CREATE FUNCTION"), strings.HasPrefix(stmt, "CREATE VIEW"),
		strings.HasPrefix(stmt, "CREATE TRIGGER"):
		s.kind = replayReplace
		s.sql = "CREATE OR REPLACE" + strings.TrimPrefix(stmt, "CREATE")
	case strings.HasPrefix(stmt, "CREATE POLICY"):
		m := createPolicyRe.FindStringSubmatch(stmt)
		if m == nil {
			return s, fmt.Errorf("cannot read the policy statement %.60q", stmt)
		}
		s.kind, s.policy = replayPolicy, [2]string{m[2], m[1]}
	case rlsRe.MatchString(stmt):
		s.kind = replayLocking
	case strings.HasPrefix(stmt, "DO "), strings.HasPrefix(stmt, "GRANT "),
		strings.HasPrefix(stmt, "REVOKE "), strings.HasPrefix(stmt, "SELECT "):
		s.kind = replayRun
	default:
		return s, fmt.Errorf("adopt does not know how to replay %.60q", stmt)
	}
	return s, nil
}

// coveredStatements returns the statements of the migrations up to adoptCovers, in order.
func coveredStatements() ([]replayStatement, error) {
	return migrationFileStatements(func(v int) bool { return v <= adoptCovers })
}

// earlyMigrations are the later migrations that adopt applies itself, before goose records
// them: the maintenance flag (00005), which adopt needs to pause writes, the rule of a
// complete thumbnail record (00008), which the API it keeps serving reads images through, and
// product titles (00011), which that API reads with every product. Every statement of them
// may run twice.
var earlyMigrations = []string{"migrations/00005_maintenance.sql", "migrations/00008_thumbnails_complete.sql",
	"migrations/00011_product_titles.sql"}

// earlyStatements returns the Up statements of earlyMigrations, in order.
func earlyStatements() ([]string, error) {
	var out []string
	for _, f := range earlyMigrations {
		data, err := fs.ReadFile(postgres.Migrations(), f)
		if err != nil {
			return nil, err
		}
		out = append(out, migrationStatements(string(data))...)
	}
	return out, nil
}

func migrationFileStatements(want func(version int) bool) ([]replayStatement, error) {
	files, err := fs.Glob(postgres.Migrations(), "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []replayStatement
	for _, f := range files {
		var v int
		if _, err := fmt.Sscanf(strings.TrimPrefix(f, "migrations/"), "%05d_", &v); err != nil {
			return nil, fmt.Errorf("migration file %s: %w", f, err)
		}
		if !want(v) {
			continue
		}
		data, err := fs.ReadFile(postgres.Migrations(), f)
		if err != nil {
			return nil, err
		}
		for _, stmt := range migrationStatements(string(data)) {
			s, err := classify(stmt)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			out = append(out, s)
		}
	}
	return out, nil
}
