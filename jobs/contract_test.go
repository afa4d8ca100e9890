package jobs_test

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"testing"

	"github.com/google/uuid"
	"github.com/riverqueue/river/rivertype"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/jobs"
	"github.com/vitrine-dev/vitrine/postgres"
)

// TestThumbnailJobContract checks that thumbnail jobs are stored the way the migrations' SQL
// reads them: the kind it selects on, and the argument keys it reads, are those of
// ThumbnailArgs, and the output it reads is ThumbnailOutput as River records it.
func TestThumbnailJobContract(t *testing.T) {
	t.Parallel()
	args := jobs.ThumbnailArgs{ImageID: uuid.New(), SourceSHA256: "x", Replace: true}
	if args.Kind() != gallery.ThumbnailJobKind {
		t.Fatalf("kind %q, want %q", args.Kind(), gallery.ThumbnailJobKind)
	}
	data, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(data, &keys); err != nil {
		t.Fatal(err)
	}
	if keys[gallery.ThumbnailJobImageKey] != args.ImageID.String() {
		t.Fatalf("arguments %s do not name the image under %q", data, gallery.ThumbnailJobImageKey)
	}

	kindRe := regexp.MustCompile(`\bj\.kind = '([^']*)'`)
	keyRe := regexp.MustCompile(`\bj\.args (?:->>|->|@> jsonb_build_object\() ?'([^']*)'`)
	files, err := fs.Glob(postgres.Migrations(), "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	migrations := map[string]string{}
	for _, f := range files {
		sql, err := fs.ReadFile(postgres.Migrations(), f)
		if err != nil {
			t.Fatal(err)
		}
		migrations[f] = string(sql)
	}
	kinds, reads := 0, 0
	for f, sql := range migrations {
		for _, m := range kindRe.FindAllStringSubmatch(sql, -1) {
			kinds++
			if m[1] != gallery.ThumbnailJobKind {
				t.Errorf("%s selects jobs of kind %q, want %q", f, m[1], gallery.ThumbnailJobKind)
			}
		}
		for _, m := range keyRe.FindAllStringSubmatch(sql, -1) {
			reads++
			if _, ok := keys[m[1]]; !ok {
				t.Errorf("%s reads the argument %q, which thumbnail jobs do not have (%s)", f, m[1], data)
			}
		}
	}
	out, err := json.Marshal(jobs.ThumbnailOutput{Failure: gallery.FailureUndecodable})
	if err != nil {
		t.Fatal(err)
	}
	var outKeys map[string]any
	if err := json.Unmarshal(out, &outKeys); err != nil {
		t.Fatal(err)
	}
	outputRe := regexp.MustCompile(`\bj\.metadata -> '([^']*)' ->> '([^']*)'`)
	outputs := 0
	for f, sql := range migrations {
		for _, m := range outputRe.FindAllStringSubmatch(sql, -1) {
			outputs++
			if _, ok := outKeys[m[2]]; m[1] != rivertype.MetadataKeyOutput || !ok {
				t.Errorf("%s reads the output %q -> %q, but jobs record %s under %q", f, m[1], m[2], out, rivertype.MetadataKeyOutput)
			}
		}
	}
	if kinds == 0 || reads == 0 || outputs == 0 {
		t.Fatalf("found %d kind selections, %d argument reads and %d output reads in the migrations: the patterns no longer match the SQL", kinds, reads, outputs)
	}
}
