package s3test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without versitygw, the tests that need it fail with the command that
// installs it. Not parallel: it changes the environment.
func TestBinaryMissingSaysHowToInstall(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("VITRINE_VERSITYGW", "")
	t.Setenv("PATH", empty)
	t.Setenv("GOBIN", "")
	t.Setenv("GOPATH", empty)
	_, err := Binary()
	if err == nil || !strings.Contains(err.Error(), InstallCommand) {
		t.Fatalf("Binary() without versitygw = %v, want an error naming %q", err, InstallCommand)
	}
	// Where `go install` puts it is enough, even when PATH lacks it.
	bin := filepath.Join(empty, "bin", "versitygw")
	os.MkdirAll(filepath.Dir(bin), 0o755)
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := Binary(); err != nil || got != bin {
		t.Fatalf("Binary() = %q, %v; want %q", got, err, bin)
	}
}
