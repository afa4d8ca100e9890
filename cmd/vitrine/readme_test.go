package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEDocumentsEverySetting keeps the README's configuration table in step with the
// settings.
func TestREADMEDocumentsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if !strings.Contains(string(readme), "| `"+s.env+"` | `-"+s.flag+"` |") {
			t.Errorf("README.md's configuration table has no row for %s (-%s)", s.env, s.flag)
		}
	}
}
