package main

import (
	"flag"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func TestConfigReportsEveryErrorAtOnce(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := loadConfig(fs, []string{"-max-pixels", "-3"}, env(map[string]string{
		"VITRINE_ADDR":             "nonsense",
		"VITRINE_MAX_UPLOAD_BYTES": "lots",
		"VITRINE_LOG_LEVEL":        "loud",
		"VITRINE_PUBLIC_URL":       "ftp://x",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"VITRINE_ADDR", "VITRINE_MAX_UPLOAD_BYTES", "VITRINE_MAX_PIXELS", "VITRINE_LOG_LEVEL", "VITRINE_PUBLIC_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestConfigDefaultsEnvironmentAndFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c, err := loadConfig(fs, []string{"-addr", "127.0.0.1:9999"}, env(map[string]string{
		"VITRINE_ADDR": ":7000", "VITRINE_MAX_PIXELS": "1000", "DATABASE_URL": "postgres://x@y/z",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.MaxPixels != 1000 || c.MaxUploadBytes != 25<<20 || c.DataDir != "./var" ||
		c.DatabaseURL != "postgres://x@y/z" || c.publicURL() != "http://127.0.0.1:9999" {
		t.Fatalf("config %+v", c)
	}
}

func TestSecretsFromFiles(t *testing.T) {
	path := t.TempDir() + "/db"
	if err := writeFile(path, "postgres://secret@db/vitrine\n"); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c, err := loadConfig(fs, nil, env(map[string]string{"DATABASE_URL_FILE": path}))
	if err != nil || c.DatabaseURL != "postgres://secret@db/vitrine" {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestProductionRefusesDevMode(t *testing.T) {
	_, err := loadConfig(newFlagSet(), nil, env(map[string]string{"VITRINE_ENV": "production"}))
	if err == nil || !strings.Contains(err.Error(), "VITRINE_JWT_SECRET") {
		t.Fatalf("production without a secret: %v", err)
	}
	if _, err := loadConfig(newFlagSet(), nil, env(map[string]string{"VITRINE_ENV": "production", "VITRINE_JWT_SECRET": "s3cret-s3cret-s3cret-s3cret"})); err != nil {
		t.Fatal(err)
	}
}

func TestS3ConfigReportsEveryErrorAtOnce(t *testing.T) {
	_, err := loadConfig(newFlagSet(), nil, env(map[string]string{
		"VITRINE_STORAGE":           "s3",
		"VITRINE_S3_ENDPOINT":       "s3.example.com",
		"VITRINE_S3_REGION":         "",
		"VITRINE_S3_PUBLIC_URL":     "ftp://cdn",
		"VITRINE_S3_PRESIGN_EXPIRY": "720h",
		"VITRINE_S3_MAX_RETRIES":    "-1",
	}))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"VITRINE_S3_BUCKET", "VITRINE_S3_ACCESS_KEY_ID", "VITRINE_S3_ENDPOINT", "VITRINE_S3_PUBLIC_URL", "VITRINE_S3_PRESIGN_EXPIRY", "VITRINE_S3_MAX_RETRIES"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if _, err := loadConfig(newFlagSet(), nil, env(map[string]string{"VITRINE_STORAGE": "ftp"})); err == nil || !strings.Contains(err.Error(), "VITRINE_STORAGE") {
		t.Errorf("VITRINE_STORAGE=ftp: %v", err)
	}
	// The S3 settings do not matter for local storage.
	if _, err := loadConfig(newFlagSet(), nil, env(map[string]string{"VITRINE_S3_ENDPOINT": "nonsense"})); err != nil {
		t.Errorf("local storage with a bad S3 endpoint: %v", err)
	}
}

func TestS3Credentials(t *testing.T) {
	base := map[string]string{"VITRINE_STORAGE": "s3", "VITRINE_S3_BUCKET": "b"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	c, err := loadConfig(newFlagSet(), nil, env(with(map[string]string{
		"AWS_ACCESS_KEY_ID": "aws-id", "AWS_SECRET_ACCESS_KEY": "aws-secret", "AWS_SESSION_TOKEN": "aws-token",
	})))
	if err != nil || c.S3AccessKeyID != "aws-id" || c.S3SecretAccessKey != "aws-secret" || c.S3SessionToken != "aws-token" {
		t.Errorf("from AWS_*: %+v, %v", c, err)
	}
	dir := t.TempDir()
	writeFile(dir+"/id", "file-id\n")
	writeFile(dir+"/secret", "file-secret\n")
	c, err = loadConfig(newFlagSet(), nil, env(with(map[string]string{
		"VITRINE_S3_ACCESS_KEY_ID_FILE": dir + "/id", "VITRINE_S3_SECRET_ACCESS_KEY_FILE": dir + "/secret",
		"AWS_ACCESS_KEY_ID": "aws-id", "AWS_SECRET_ACCESS_KEY": "aws-secret",
	})))
	if err != nil || c.S3AccessKeyID != "file-id" || c.S3SecretAccessKey != "file-secret" || c.S3SessionToken != "" {
		t.Errorf("from files: %+v, %v", c, err)
	}
	c, err = loadConfig(newFlagSet(), nil, env(with(map[string]string{
		"VITRINE_S3_ACCESS_KEY_ID": "id", "VITRINE_S3_SECRET_ACCESS_KEY": "secret", "AWS_ACCESS_KEY_ID": "aws-id",
	})))
	if err != nil || c.S3AccessKeyID != "id" || c.S3SecretAccessKey != "secret" || c.S3PresignExpiry != 15*time.Minute || c.S3Region != "us-east-1" {
		t.Errorf("from VITRINE_S3_*: %+v, %v", c, err)
	}
}

func TestCORSOrigins(t *testing.T) {
	c, err := loadConfig(newFlagSet(), nil, env(map[string]string{}))
	if err != nil || len(c.CORSOrigins) != 0 {
		t.Fatalf("by default no origin may call from a browser: %q %v", c.CORSOrigins, err)
	}
	c, err = loadConfig(newFlagSet(), nil, env(map[string]string{
		"VITRINE_CORS_ORIGINS": " https://admin.shop.example, http://localhost:5173,https://admin.shop.example ",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://admin.shop.example", "http://localhost:5173"}; !slices.Equal(c.CORSOrigins, want) {
		t.Fatalf("origins %q, want %q", c.CORSOrigins, want)
	}

	// Every bad origin is reported at once, with the other settings' problems.
	bad := map[string]string{
		"*":                            "wildcards",
		"https://*.shop.example":       "wildcards",
		"null":                         "sandboxed",
		"https://admin.shop.example/":  "no path",
		"https://shop.example/admin":   "no path",
		"https://user:pw@shop.example": "no user",
		"ftp://shop.example":           "not an http or https origin",
		"https://shop.example:443":     "default port",
		"https://Admin.Shop.example":   "lower case",
		"shop.example":                 "not an http or https origin",
	}
	var list []string
	for o := range bad {
		list = append(list, o)
	}
	_, err = loadConfig(newFlagSet(), nil, env(map[string]string{
		"VITRINE_CORS_ORIGINS": strings.Join(list, ","),
		"VITRINE_LOG_LEVEL":    "loud",
	}))
	if err == nil {
		t.Fatal("bad origins accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, "VITRINE_CORS_ORIGINS") || !strings.Contains(msg, "VITRINE_LOG_LEVEL") {
		t.Errorf("error does not name both settings:\n%v", msg)
	}
	for o, why := range bad {
		if !strings.Contains(msg, strconv.Quote(o)+": ") || !strings.Contains(msg, why) {
			t.Errorf("%q is not refused with %q:\n%v", o, why, msg)
		}
	}
}

// TestUploadTypesSetting: the default accepts every type; a list is read whatever its case
// and spaces; an unknown or empty list is refused at start, naming the setting and the
// known types.
func TestUploadTypesSetting(t *testing.T) {
	c, err := loadConfig(newFlagSet(), nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.UploadTypes.String(); got != "jpeg,png,gif,webp,heic,heif,avif" {
		t.Fatalf("default upload types %q", got)
	}
	c, err = loadConfig(newFlagSet(), []string{"-upload-types", " HEIC,jpeg , heic"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.UploadTypes.String(); got != "jpeg,heic" || c.UploadTypes.Accepts("image/avif") || !c.UploadTypes.Accepts("image/heic") {
		t.Fatalf("upload types %q", got)
	}
	for _, bad := range []string{"jpeg,bmp", " , "} {
		_, err := loadConfig(newFlagSet(), nil, env(map[string]string{"VITRINE_UPLOAD_TYPES": bad, "VITRINE_LOG_LEVEL": "loud"}))
		if err == nil || !strings.Contains(err.Error(), "VITRINE_UPLOAD_TYPES") || !strings.Contains(err.Error(), "known: jpeg,png,gif,webp,heic,heif,avif") ||
			!strings.Contains(err.Error(), "VITRINE_LOG_LEVEL") {
			t.Errorf("VITRINE_UPLOAD_TYPES=%q: %v", bad, err)
		}
	}
}
