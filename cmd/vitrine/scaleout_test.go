package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrine-dev/vitrine/gallery"
	"github.com/vitrine-dev/vitrine/jwtauth"
	"github.com/vitrine-dev/vitrine/loadtest"
	"github.com/vitrine-dev/vitrine/postgres/pgtest"
	"github.com/vitrine-dev/vitrine/storage/s3store/s3test"
)

// scaleOutPurgeEvery is the purge schedule of the scale-out test: short, so that it comes
// round several times during the test.
const scaleOutPurgeEvery = 20 * time.Second

// TestScaleOutSurvivesKills runs Vitrine as it scales out: two `vitrine serve` processes
// without workers and one `vitrine work` process over one PostgreSQL database and one
// versitygw bucket. Sixteen clients spread their uploads, moves, reorders, deletes and reads
// over both servers; midway, while a thumbnail job runs, one server and the worker are
// SIGKILLed, then started again. Afterwards every write acknowledged (before the kill or
// after) is there, every delete acknowledged is not, every gallery is dense, every object a
// row names is in the bucket, no object older than the run is orphaned, every thumbnail job
// ended (the killed worker's by River's rescuer) and every main image has its thumbnails, and
// the scheduled purge ran once per schedule across the worker's two lives.
func TestScaleOutSurvivesKills(t *testing.T) {
	owner := pgtest.NewDB(t)
	gw := s3test.Start(t)
	bucket := gw.NewBucket(t)
	common := map[string]string{
		"DATABASE_URL": pgtest.AppURL(owner), "VITRINE_JWT_SECRET": "scale-out-test-secret-of-32-bytes!",
		"VITRINE_STORAGE": "s3", "VITRINE_S3_ENDPOINT": gw.Endpoint, "VITRINE_S3_REGION": gw.Region,
		"VITRINE_S3_BUCKET": bucket, "VITRINE_S3_PATH_STYLE": "true",
		"VITRINE_S3_ACCESS_KEY_ID": gw.AccessKey, "VITRINE_S3_SECRET_ACCESS_KEY": gw.SecretKey,
		"VITRINE_JOB_RESCUE_AFTER": "30s", "VITRINE_JOB_RETRY_BASE": "1s",
		"VITRINE_PURGE_EVERY":        scaleOutPurgeEvery.String(),
		"VITRINE_UPLOADS_PER_MINUTE": "0", "VITRINE_WRITES_PER_MINUTE": "0", "VITRINE_LOG_LEVEL": "info",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{"VITRINE_DATA_DIR": t.TempDir()}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	servers := []*child{
		startChildProcess(t, "serve", with(map[string]string{"VITRINE_WORKERS": "0", "VITRINE_ADDR": freeAddr(t)})),
		startChildProcess(t, "serve", with(map[string]string{"VITRINE_WORKERS": "0", "VITRINE_ADDR": freeAddr(t)})),
	}
	worker := startChildProcess(t, "work", with(map[string]string{"VITRINE_WORKERS": "2", "VITRINE_ADDR": "127.0.0.1:0"}))

	ctx, _, checker := openTestChecker(t, with(nil))
	photos, err := readPhotos("")
	if err != nil {
		t.Fatal(err)
	}

	const duration = 40 * time.Second
	midway := make(chan struct{})
	var once sync.Once
	lc := loadtest.Config{
		URLs: []string{servers[0].base, servers[1].base}, Clients: 16, Duration: duration, Photos: photos,
		Token: func(int) (string, uuid.UUID, error) {
			supplier := uuid.New()
			tok, err := jwtauth.Mint([]byte(common["VITRINE_JWT_SECRET"]), gallery.Caller{Role: gallery.RoleAuthenticated, UserID: supplier}, "", "", time.Hour)
			return tok, supplier, err
		},
		Progress: func(s loadtest.Snapshot) {
			if s.Uploads >= 20 && s.Elapsed >= duration/4 {
				once.Do(func() { close(midway) })
			}
		},
	}
	type outcome struct {
		res *loadtest.Result
		err error
	}
	ran := make(chan outcome, 1)
	go func() {
		res, err := loadtest.Run(ctx, lc)
		ran <- outcome{res, err}
	}()

	select {
	case <-midway:
	case o := <-ran:
		t.Fatalf("the load ended before it was midway (%v): %+v", o.err, o.res.Routes)
	}
	// Kill while the worker holds a thumbnail job, if one comes within a while.
	var orphaned int64 // the job the worker dies holding, if any
	for deadline := time.Now().Add(15 * time.Second); orphaned == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		jobs, err := checker.app.db.ThumbnailJobs(ctx, "running", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) > 0 {
			orphaned = jobs[0].JobID
		}
	}
	servers[0].kill(t)
	worker.kill(t)
	t.Logf("SIGKILLed server 0 and the worker (holding thumbnail job %d)", orphaned)
	servers[0].start(t)
	worker.start(t)

	o := <-ran
	if o.err != nil {
		t.Fatal(o.err)
	}
	var buf bytes.Buffer
	o.res.Print(&buf)
	t.Logf("load over two servers, one killed midway:\n%s", buf.String())
	if o.res.Uploads().OK < 20 {
		t.Errorf("only %d uploads were acknowledged", o.res.Uploads().OK)
	}
	if o.res.Unanswered() == 0 {
		t.Error("no request went unanswered: the kill did not happen under load")
	}

	rep, err := checker.check(ctx, o.res, 4*time.Minute, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	rep.Print(&buf)
	t.Logf("check:\n%s", buf.String())
	if !rep.OK() || !rep.JobsEnded || rep.Images == 0 {
		t.Fatalf("invariants broken\nworker log:\n%s", worker.logText())
	}
	if orphaned != 0 {
		// Its worker died holding it: River's rescuer made it retryable, and it ended.
		jobs, err := checker.app.db.ThumbnailJobs(ctx, "", 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.JobID == orphaned {
				t.Logf("the orphaned job %d ended %s after %d attempts", j.JobID, j.State, j.Attempts)
				if j.State != "completed" && j.State != "cancelled" {
					t.Errorf("the orphaned job %d ended %s", j.JobID, j.State)
				}
			}
		}
	}
	if rep.FailedJobs != 0 {
		t.Errorf("%d thumbnail jobs of the run were discarded", rep.FailedJobs)
	}
	checkPurgeSchedule(t, ctx, owner)
}

// checkPurgeSchedule waits for the scheduled purge to have completed twice, then checks that
// no two scheduled runs overlapped or came closer than the schedule allows (a run is due 90%
// of the schedule after the last one finished), and that none was left running or failed.
func checkPurgeSchedule(t *testing.T, ctx context.Context, ownerURL string) {
	t.Helper()
	pool, err := pgxpool.New(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	type run struct {
		id              int64
		status          string
		started, finish *time.Time
	}
	var runs []run
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		rows, err := pool.Query(ctx, `SELECT id, status, started_at, finished_at FROM vitrine_purge_runs
			WHERE trigger = 'schedule' AND NOT dry_run ORDER BY started_at`)
		if err != nil {
			t.Fatal(err)
		}
		runs = runs[:0]
		completed := 0
		for rows.Next() {
			var r run
			if err := rows.Scan(&r.id, &r.status, &r.started, &r.finish); err != nil {
				t.Fatal(err)
			}
			runs = append(runs, r)
			if r.status == gallery.PurgeCompleted {
				completed++
			}
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		if completed >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled purge completed %d times in the test: %+v", completed, runs)
		}
	}
	var last *run
	for i := range runs {
		r := &runs[i]
		switch r.status {
		case gallery.PurgeCompleted:
		case "interrupted": // its worker was killed; the next run took over
			continue
		case "running":
			if i == len(runs)-1 {
				continue // the one going on now
			}
			fallthrough
		default:
			t.Errorf("scheduled purge run %d: %s", r.id, r.status)
			continue
		}
		if last != nil {
			if gap := r.started.Sub(*last.finish); gap < scaleOutPurgeEvery*9/10 {
				t.Errorf("scheduled purge run %d started %s after run %d finished: more than once per schedule of %s",
					r.id, gap, last.id, scaleOutPurgeEvery)
			}
		}
		last = r
	}
	t.Logf("%d scheduled purge runs, one per %s", len(runs), scaleOutPurgeEvery)
}

// child is a `vitrine` process of a test that can be killed and started again with the same
// environment (and so the same address).
type child struct {
	command string
	envs    map[string]string
	base    string // the server's URL, for serve
	cmd     *exec.Cmd
	done    <-chan error
	logs    *lockedWriter
	logBuf  *bytes.Buffer
}

func startChildProcess(t *testing.T, command string, envs map[string]string) *child {
	t.Helper()
	var buf bytes.Buffer
	c := &child{command: command, envs: envs, logs: &lockedWriter{w: &buf}, logBuf: &buf}
	if command == "serve" {
		c.base = "http://" + envs["VITRINE_ADDR"]
	}
	c.start(t)
	t.Cleanup(func() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-c.done:
			if err != nil {
				t.Errorf("%s: %v\n%s", command, err, c.logText())
			}
		case <-time.After(time.Minute):
			_ = c.cmd.Process.Kill()
			t.Errorf("%s did not stop", command)
		}
	})
	return c
}

// start starts the process and waits until it serves (/healthz answers) or works (its
// workers started).
func (c *child) start(t *testing.T) {
	t.Helper()
	mark := len(c.logText())
	c.cmd, c.done = startChild(t, c.command, c.envs, c.logs)
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if c.base != "" {
			if resp, err := http.Get(c.base + "/healthz"); err == nil {
				resp.Body.Close()
				return
			}
		} else if strings.Contains(c.logText()[mark:], "workers started") {
			return
		}
		select {
		case err := <-c.done:
			t.Fatalf("%s ended at start: %v\n%s", c.command, err, c.logText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come up\n%s", c.command, c.logText())
		}
	}
}

// kill sends SIGKILL and waits for the process to end.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
}

func (c *child) logText() string {
	c.logs.mu.Lock()
	defer c.logs.mu.Unlock()
	return c.logBuf.String()
}
