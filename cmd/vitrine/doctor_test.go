package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/vitrine-dev/vitrine/postgres"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/storage"
	"github.com/vitrine-dev/vitrine/storage/localfs"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
)

// doctorEnv is the environment of a healthy deployment on a fresh database: the login role,
// the owner for migrations, a data directory of its own.
func doctorEnv(t *testing.T) (env map[string]string, owner string) {
	t.Helper()
	owner = pgtest.NewDB(t)
	return map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_MIGRATE_DATABASE_URL": owner, "VITRINE_DATA_DIR": t.TempDir(),
	}, owner
}

// runDoctor runs `vitrine doctor` with env and returns what it printed and its error.
func runDoctor(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"doctor"}, envOf(env), &out, &errOut)
	t.Logf("vitrine doctor:\n%s%s", out.String(), errOut.String())
	return out.String(), err
}

// checkLine returns the line of the doctor's output about check, and whether it failed.
func checkLine(t *testing.T, out, check string) (line string, failed bool) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^(ok  |FAIL)  ` + regexp.QuoteMeta(check) + ` +(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no line about %q:\n%s", check, out)
	}
	return m[2], m[1] == "FAIL"
}

var doctorChecks = []string{"database", "login role", "row security", "migrations", "clock", "store", "libvips"}

// TestDoctorPassesAHealthyDeployment: on a migrated database reached as vitrine_app, with a
// local store, every check passes, the store's probe object is not left behind, and a probe
// that an interrupted doctor left two hours ago is removed.
func TestDoctorPassesAHealthyDeployment(t *testing.T) {
	t.Parallel()
	env, _ := doctorEnv(t)
	objects := filepath.Join(env["VITRINE_DATA_DIR"], "objects")
	store, err := localfs.New(objects)
	if err != nil {
		t.Fatal(err)
	}
	stale := doctorProbePrefix + "0123abcd"
	if err := storage.Put(context.Background(), store, stale, []byte("left behind")); err != nil {
		t.Fatal(err)
	}
	store.Close()
	twoHoursAgo := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(filepath.Join(objects, stale), twoHoursAgo, twoHoursAgo); err != nil {
		t.Fatal(err)
	}
	out, err := runDoctor(t, env)
	if err != nil {
		t.Fatalf("doctor failed on a healthy deployment: %v", err)
	}
	for _, c := range doctorChecks {
		if line, failed := checkLine(t, out, c); failed {
			t.Errorf("%s failed: %s", c, line)
		}
	}
	var left []string
	filepath.WalkDir(filepath.Join(env["VITRINE_DATA_DIR"], "objects"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, path)
		}
		return err
	})
	if len(left) > 0 {
		t.Fatalf("doctor left objects behind: %v", left)
	}
}

// TestDoctorNamesAPendingMigration: a database missing the latest migration fails the
// migrations check, which names it.
func TestDoctorNamesAPendingMigration(t *testing.T) {
	t.Parallel()
	env, owner := doctorEnv(t)
	files, err := fs.Glob(postgres.Migrations(), "migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	latest := filepath.Base(files[len(files)-1])
	db := openOwner(t, owner)
	if _, err := db.Pool().Exec(context.Background(),
		`DELETE FROM goose_db_version WHERE version_id = $1`, strings.SplitN(latest, "_", 2)[0]); err != nil {
		t.Fatal(err)
	}
	out, err := runDoctor(t, env)
	if err == nil {
		t.Fatal("doctor passed with a pending migration")
	}
	if line, failed := checkLine(t, out, "migrations"); !failed || !strings.Contains(line, latest) {
		t.Fatalf("the migrations check does not name %s: %s", latest, line)
	}
	if _, failed := checkLine(t, out, "database"); failed {
		t.Fatal("the database check failed too")
	}
}

// TestDoctorFlagsASuperuserLogin: DATABASE_URL naming a superuser (the tables' owner) fails
// the login role check, which says why.
func TestDoctorFlagsASuperuserLogin(t *testing.T) {
	t.Parallel()
	env, owner := doctorEnv(t)
	env["DATABASE_URL"] = owner
	out, err := runDoctor(t, env)
	if err == nil {
		t.Fatal("doctor passed with a superuser login")
	}
	line, failed := checkLine(t, out, "login role")
	if !failed || !strings.Contains(line, "superuser") || !strings.Contains(line, "BYPASSRLS") {
		t.Fatalf("the login role check: %s", line)
	}
	if !strings.Contains(out, "fix: set DATABASE_URL to the vitrine_app role") {
		t.Fatalf("no fix said:\n%s", out)
	}
}

// TestDoctorFlagsAnUnwritableStore: a local store directory that cannot be written fails the
// store check, and only it.
func TestDoctorFlagsAnUnwritableStore(t *testing.T) {
	t.Parallel()
	env, _ := doctorEnv(t)
	objects := filepath.Join(env["VITRINE_DATA_DIR"], "objects")
	store, err := localfs.New(objects) // the directory and its .tmp, as a server leaves them
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	readOnly(t, objects, filepath.Join(objects, ".tmp"))
	out, err := runDoctor(t, env)
	if err == nil {
		t.Fatal("doctor passed with an unwritable store")
	}
	if line, failed := checkLine(t, out, "store"); !failed || !strings.Contains(line, "cannot write") {
		t.Fatalf("the store check: %s", line)
	}
	for _, c := range doctorChecks {
		if _, failed := checkLine(t, out, c); failed && c != "store" {
			t.Errorf("%s failed too", c)
		}
	}
}

// readOnly makes dirs unwritable until the test ends: by their mode, and as root, whom modes
// do not stop, by the immutable attribute. It fails the test if a file can still be created.
func readOnly(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(d, 0o755) })
		if os.Geteuid() == 0 {
			if out, err := exec.Command("chattr", "+i", d).CombinedOutput(); err != nil {
				t.Fatalf("chattr +i %s: %v %s", d, err, out)
			}
			t.Cleanup(func() {
				if out, err := exec.Command("chattr", "-i", d).CombinedOutput(); err != nil {
					t.Errorf("chattr -i %s: %v %s", d, err, out)
				}
			})
		}
		if err := os.WriteFile(filepath.Join(d, "x"), nil, 0o644); err == nil {
			t.Fatalf("%s is still writable", d)
		}
	}
}

// openOwner opens url as the tables' owner, until the test ends.
func openOwner(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// TestDoctorProbesABucket: with S3 storage on a real S3 server, the store check writes, reads
// back and deletes its probe, which is not left in the bucket; a bucket that does not exist
// fails the check.
func TestDoctorProbesABucket(t *testing.T) {
	t.Parallel()
	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	env, _ := doctorEnv(t)
	for k, v := range map[string]string{
		"VITRINE_STORAGE": "s3", "VITRINE_S3_ENDPOINT": gw.Endpoint, "VITRINE_S3_REGION": gw.Region,
		"VITRINE_S3_BUCKET": bucket, "VITRINE_S3_PATH_STYLE": "true",
		"VITRINE_S3_ACCESS_KEY_ID": gw.AccessKey, "VITRINE_S3_SECRET_ACCESS_KEY": gw.SecretKey,
		"VITRINE_S3_MAX_RETRIES": "0",
	} {
		env[k] = v
	}
	out, err := runDoctor(t, env)
	if err != nil {
		t.Fatalf("doctor failed on a healthy bucket: %v", err)
	}
	if line, failed := checkLine(t, out, "store"); failed {
		t.Fatalf("store: %s", line)
	}
	list, err := gw.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil || len(list.Contents) != 0 {
		t.Fatalf("the bucket after doctor: %+v, %v", list, err)
	}

	env["VITRINE_S3_BUCKET"] = "no-such-bucket"
	out, err = runDoctor(t, env)
	if line, failed := checkLine(t, out, "store"); err == nil || !failed || !strings.Contains(line, "not reachable") {
		t.Fatalf("a missing bucket: %s, %v", line, err)
	}
}

// TestDoctorFlagsUnforcedRowSecurity: a table of suppliers' rows whose row-level security no
// longer binds its owner (here the webhook endpoints, whose secrets it hides) fails the row
// security check, which names the table.
func TestDoctorFlagsUnforcedRowSecurity(t *testing.T) {
	t.Parallel()
	env, owner := doctorEnv(t)
	db := openOwner(t, owner)
	if _, err := db.Pool().Exec(context.Background(), `ALTER TABLE vitrine_webhooks NO FORCE ROW LEVEL SECURITY`); err != nil {
		t.Fatal(err)
	}
	out, err := runDoctor(t, env)
	if err == nil {
		t.Fatal("doctor passed with row-level security not forced on vitrine_webhooks")
	}
	if line, failed := checkLine(t, out, "row security"); !failed || !strings.Contains(line, "vitrine_webhooks") {
		t.Fatalf("the row security check does not name vitrine_webhooks: %s", line)
	}
}
