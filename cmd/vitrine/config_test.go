package main

import (
	"flag"
	"io"
	"strings"
	"testing"
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
