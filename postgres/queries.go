package postgres

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed adopt/*.sql
var queryFiles embed.FS

// queries holds the named statements of the .sql files under adopt/: each starts at a line
// "-- name: <name>" and runs to the next such line.
var queries = loadQueries(queryFiles)

func loadQueries(fsys fs.FS) map[string]string {
	out := map[string]string{}
	files, err := fs.Glob(fsys, "adopt/*.sql")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			panic(err)
		}
		name := ""
		var body strings.Builder
		flush := func() {
			if name == "" {
				return
			}
			if _, dup := out[name]; dup {
				panic(fmt.Sprintf("%s: query %s defined twice", f, name))
			}
			out[name] = strings.TrimSpace(body.String())
		}
		for line := range strings.Lines(string(data)) {
			if n, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name:"); ok {
				flush()
				name = strings.TrimSpace(n)
				body.Reset()
				continue
			}
			body.WriteString(line)
		}
		flush()
	}
	return out
}

// query returns the named statement, or panics: a missing name is a bug caught by any test.
func query(name string) string {
	q, ok := queries[name]
	if !ok {
		panic("postgres: no query named " + name)
	}
	return q
}
